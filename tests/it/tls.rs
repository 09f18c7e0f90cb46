//! HTTPS with `[server.tls]`: a rustls client trusting a test CA.

use alexa_endpoint::config::TlsConfig;
use alexa_endpoint::{Response, Skill};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

use crate::support::helpers::*;

#[tokio::test]
async fn a_request_over_https_is_acknowledged() {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "alexa-endpoint test CA");
    let ca = ca_params.clone().self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let cert = params.signed_by(&key, &issuer).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let mut cfg = test_config();
    cfg.server.tls = Some(TlsConfig {
        cert: cert_path,
        key: key_path,
    });
    let skill = Skill::builder()
        .on_message(|_ctx, _msg| async { Ok(Response::ack()) })
        .build();
    let app = spawn_app(skill, cfg).await;

    alexa_endpoint::install_crypto_provider();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
        .https_only(true)
        .build()
        .unwrap();
    let res = client
        .post(format!("https://localhost:{}/", app.addr.port()))
        .body(seed_payload())
        .send()
        .await
        .expect("TLS handshake and request");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.text().await.unwrap(),
        r#"{"version":"1.0","response":{}}"#
    );
    // Plain HTTP to the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .post(app.url("/"))
        .body(seed_payload())
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
    app.stop().await;
}
