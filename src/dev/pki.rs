//! A throw-away PKI shaped like Amazon's: root CA → intermediate CA → leaf
//! with SAN `echo-api.amazon.com`, all RSA-2048.
//!
//! The root is trusted through `verification.extra_roots`; the chain (leaf,
//! then intermediate: Alexa's layout) is served through
//! `verification.preloaded_certs` under [`DEV_CERT_URL`], so full
//! verification runs on a laptop with no network.

use std::path::{Path, PathBuf};

use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;
use time::{Duration, OffsetDateTime};

use super::DevError;
use crate::verify::SIGNING_CERT_SAN;

/// The cert URL a dev PKI's chain is preloaded under (it passes the cert
/// URL rules; nothing is ever downloaded from it).
pub const DEV_CERT_URL: &str = "https://s3.amazonaws.com/echo.api/echo-api-cert-dev.pem";

/// File names written by [`TestPki::write_to`].
pub mod files {
    /// Root CA certificate (the `extra_roots` file).
    pub const ROOT: &str = "root.pem";
    /// Intermediate CA certificate.
    pub const INTERMEDIATE: &str = "intermediate.pem";
    /// Signing (leaf) certificate.
    pub const LEAF: &str = "leaf.pem";
    /// Signing key, PKCS#8 PEM (keep it private, even if it is only a test key).
    pub const LEAF_KEY: &str = "leaf-key.pem";
    /// Leaf then intermediate: what Amazon serves at a cert URL.
    pub const CHAIN: &str = "chain.pem";
    /// Config snippet trusting this PKI.
    pub const CONFIG: &str = "verification.toml";
}

/// A root CA, an intermediate CA and a signing cert, with the signing key.
pub struct TestPki {
    root_pem: String,
    intermediate_pem: String,
    leaf_pem: String,
    chain_pem: String,
    leaf_key_pem: String,
    signer: RsaKeyPair,
    cert_url: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of Debug output.
        f.debug_struct("TestPki")
            .field("cert_url", &self.cert_url)
            .finish_non_exhaustive()
    }
}

/// Options for a [`TestPki`]; the defaults make a chain that verifies.
#[derive(Debug, Clone)]
pub struct TestPkiBuilder {
    leaf_not_before: OffsetDateTime,
    leaf_not_after: OffsetDateTime,
    leaf_dns_names: Vec<String>,
    self_signed_leaf: bool,
    cert_url: String,
}

impl Default for TestPkiBuilder {
    fn default() -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            leaf_not_before: now - Duration::hours(1),
            leaf_not_after: now + Duration::days(365),
            leaf_dns_names: vec![SIGNING_CERT_SAN.to_owned()],
            self_signed_leaf: false,
            cert_url: DEV_CERT_URL.to_owned(),
        }
    }
}

impl TestPkiBuilder {
    /// The leaf's validity window (default: an hour ago to a year ahead).
    /// The CA certs are valid from 1975 to 4096.
    pub fn leaf_validity(mut self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        self.leaf_not_before = not_before;
        self.leaf_not_after = not_after;
        self
    }

    /// The leaf's SAN DNS names (default: `echo-api.amazon.com`).
    pub fn leaf_dns_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.leaf_dns_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Make the leaf self-signed; the chain is then the leaf alone.
    pub fn self_signed_leaf(mut self) -> Self {
        self.self_signed_leaf = true;
        self
    }

    /// The cert URL the chain is preloaded under (default [`DEV_CERT_URL`]).
    pub fn cert_url(mut self, url: impl Into<String>) -> Self {
        self.cert_url = url.into();
        self
    }

    /// Generate the keys and certificates (three RSA-2048 keys).
    pub fn build(self) -> Result<TestPki, DevError> {
        let root_key = rsa_key()?;
        let mut root = CertificateParams::default();
        root.distinguished_name
            .push(DnType::CommonName, "alexa-endpoint dev root CA");
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let root = CertifiedIssuer::self_signed(root, root_key)?;

        let inter_key = rsa_key()?;
        let mut inter = CertificateParams::default();
        inter
            .distinguished_name
            .push(DnType::CommonName, "alexa-endpoint dev intermediate CA");
        inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        inter.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let inter = CertifiedIssuer::signed_by(inter, inter_key, &root)?;

        let leaf_key = rsa_key()?;
        let mut leaf = CertificateParams::new(self.leaf_dns_names)?;
        leaf.distinguished_name
            .push(DnType::CommonName, SIGNING_CERT_SAN);
        leaf.not_before = self.leaf_not_before;
        leaf.not_after = self.leaf_not_after;
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let (leaf_pem, chain_pem) = if self.self_signed_leaf {
            let leaf = leaf.self_signed(&leaf_key)?;
            (leaf.pem(), leaf.pem())
        } else {
            let leaf = leaf.signed_by(&leaf_key, &inter)?;
            (leaf.pem(), format!("{}{}", leaf.pem(), inter.pem()))
        };
        TestPki::from_parts(
            root.pem(),
            inter.pem(),
            leaf_pem,
            chain_pem,
            leaf_key.serialize_pem(),
            self.cert_url,
        )
    }
}

fn rsa_key() -> Result<KeyPair, DevError> {
    Ok(KeyPair::generate_for(&PKCS_RSA_SHA256)?)
}

impl TestPki {
    /// A PKI with the default options: its chain verifies.
    pub fn generate() -> Result<Self, DevError> {
        TestPkiBuilder::default().build()
    }

    /// Options for a PKI whose chain may be broken on purpose.
    pub fn builder() -> TestPkiBuilder {
        TestPkiBuilder::default()
    }

    fn from_parts(
        root_pem: String,
        intermediate_pem: String,
        leaf_pem: String,
        chain_pem: String,
        leaf_key_pem: String,
        cert_url: String,
    ) -> Result<Self, DevError> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(leaf_key_pem.as_bytes())
            .map_err(|e| DevError::Format(format!("{}: {e}", files::LEAF_KEY)))?;
        let signer = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| DevError::Format(format!("{}: not an RSA key: {e}", files::LEAF_KEY)))?;
        Ok(Self {
            root_pem,
            intermediate_pem,
            leaf_pem,
            chain_pem,
            leaf_key_pem,
            signer,
            cert_url,
        })
    }

    /// Root CA certificate, PEM.
    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// Intermediate CA certificate, PEM.
    pub fn intermediate_pem(&self) -> &str {
        &self.intermediate_pem
    }

    /// Signing certificate, PEM.
    pub fn leaf_pem(&self) -> &str {
        &self.leaf_pem
    }

    /// The chain as Amazon serves it: leaf, then intermediate.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The signing key, PKCS#8 PEM.
    pub fn leaf_key_pem(&self) -> &str {
        &self.leaf_key_pem
    }

    /// The cert URL the chain is preloaded under.
    pub fn cert_url(&self) -> &str {
        &self.cert_url
    }

    /// RSA PKCS#1 v1.5 SHA-256 signature of `message` with the leaf key.
    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, DevError> {
        let mut sig = vec![0; self.signer.public_modulus_len()];
        self.signer
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut sig,
            )
            .map_err(|_| DevError::Crypto("RSA signing failed"))?;
        Ok(sig)
    }

    /// The `verification.toml` snippet that trusts this PKI once written to
    /// `dir` (absolute paths).
    pub fn config_snippet(&self, dir: &Path) -> String {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let path = |name: &str| q(&dir.join(name).display().to_string());
        format!(
            "# Written by `alexa-endpoint dev pki`: full request verification against a\n\
             # local test PKI. Use it as the config file (the embedded defaults fill in the\n\
             # rest), or copy its keys into yours:\n\
             #   alexa-endpoint serve --config {cfg}\n\
             # Never trust this root in production.\n\
             [verification]\n\
             enabled = true\n\
             # List your skill id instead of accepting any:\n\
             # skill_ids = [\"amzn1.ask.skill.00000000-0000-0000-0000-000000000000\"]\n\
             allow_any_skill = true\n\
             extra_roots = {root}\n\
             \n\
             [verification.preloaded_certs]\n\
             {url} = {chain}\n",
            cfg = dir.join(files::CONFIG).display(),
            root = path(files::ROOT),
            url = q(&self.cert_url),
            chain = path(files::CHAIN),
        )
    }

    /// Write the PEM files and `verification.toml` into `dir` (created if
    /// needed); returns the absolute directory.
    pub fn write_to(&self, dir: &Path) -> Result<PathBuf, DevError> {
        std::fs::create_dir_all(dir).map_err(|e| DevError::io(dir, e))?;
        let dir = dir.canonicalize().map_err(|e| DevError::io(dir, e))?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| DevError::io(&path, e))
        };
        write(files::ROOT, &self.root_pem)?;
        write(files::INTERMEDIATE, &self.intermediate_pem)?;
        write(files::LEAF, &self.leaf_pem)?;
        write(files::CHAIN, &self.chain_pem)?;
        write(files::LEAF_KEY, &self.leaf_key_pem)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.join(files::LEAF_KEY);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| DevError::io(&path, e))?;
        }
        write(files::CONFIG, &self.config_snippet(&dir))?;
        Ok(dir)
    }

    /// Read a PKI written by [`TestPki::write_to`].
    pub fn load(dir: &Path) -> Result<Self, DevError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| DevError::io(&path, e))
        };
        let cert_url = read(files::CONFIG)
            .ok()
            .and_then(|text| preloaded_url(&text))
            .unwrap_or_else(|| DEV_CERT_URL.to_owned());
        Self::from_parts(
            read(files::ROOT)?,
            read(files::INTERMEDIATE)?,
            read(files::LEAF)?,
            read(files::CHAIN)?,
            read(files::LEAF_KEY)?,
            cert_url,
        )
    }
}

/// The first `[verification.preloaded_certs]` key of a config snippet.
fn preloaded_url(config: &str) -> Option<String> {
    let value: toml::Table = toml::from_str(config).ok()?;
    value
        .get("verification")?
        .get("preloaded_certs")?
        .as_table()?
        .keys()
        .next()
        .cloned()
}
