//! Timestamp tolerance and skill id allowlist, plus the minimal borrowed
//! parse that [`Verifier::verify`](super::Verifier::verify) needs.

use std::borrow::Cow;

use serde::Deserialize;
use time::OffsetDateTime;

use super::error::VerifyError;
use crate::envelope::RequestKind;

/// The timestamp and skill id rules, from config.
#[derive(Debug, Clone)]
pub(crate) struct RequestRules {
    pub(crate) tolerance: std::time::Duration,
    pub(crate) skill_ids: Vec<String>,
    pub(crate) allow_any_skill: bool,
}

impl RequestRules {
    pub(crate) fn check(
        &self,
        kind: RequestKind,
        timestamp: OffsetDateTime,
        skill_id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        self.check_timestamp(kind, timestamp, now)?;
        self.check_skill_id(skill_id)
    }

    /// `|now - timestamp| <= tolerance`, both directions, exact (sub-second)
    /// arithmetic: 150 s is accepted, 150.001 s is not. The tolerance is the
    /// kind's ([`RequestKind::timestamp_tolerance`]).
    fn check_timestamp(
        &self,
        kind: RequestKind,
        timestamp: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        let tolerance = kind.timestamp_tolerance(self.tolerance);
        let tolerance = time::Duration::try_from(tolerance).unwrap_or(time::Duration::MAX);
        if (now - timestamp).abs() <= tolerance {
            Ok(())
        } else {
            Err(VerifyError::StaleTimestamp)
        }
    }

    fn check_skill_id(&self, skill_id: Option<&str>) -> Result<(), VerifyError> {
        if self.allow_any_skill {
            return Ok(());
        }
        match skill_id {
            None => Err(VerifyError::SkillIdMissing),
            Some(id) if self.skill_ids.iter().any(|s| s == id) => Ok(()),
            Some(_) => Err(VerifyError::SkillIdNotAllowed),
        }
    }
}

/// The three fields [`Verifier::verify`](super::Verifier::verify) checks,
/// read without building the full envelope.
pub(crate) struct RequestFacts<'a> {
    pub(crate) request_type: Cow<'a, str>,
    pub(crate) timestamp: OffsetDateTime,
    pub(crate) skill_id: Option<String>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    request: Request<'a>,
    #[serde(borrow, default)]
    context: Option<Context<'a>>,
    #[serde(borrow, default)]
    session: Option<HasApplication<'a>>,
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Context<'a> {
    #[serde(borrow, rename = "System", default)]
    system: Option<HasApplication<'a>>,
}

#[derive(Deserialize)]
struct HasApplication<'a> {
    #[serde(borrow, default)]
    application: Option<Application<'a>>,
}

#[derive(Deserialize)]
struct Application<'a> {
    #[serde(borrow, rename = "applicationId", default)]
    application_id: Option<Cow<'a, str>>,
}

impl HasApplication<'_> {
    fn id(&self) -> Option<&Cow<'_, str>> {
        self.application.as_ref()?.application_id.as_ref()
    }
}

impl<'a> RequestFacts<'a> {
    /// Read `request.type`, `request.timestamp` (RFC 3339, fractional seconds
    /// allowed) and the skill id (`context.System.application.applicationId`,
    /// else `session.application.applicationId`).
    pub(crate) fn parse(body: &'a [u8]) -> Result<Self, VerifyError> {
        let env: Envelope<'a> = serde_json::from_slice(body)
            .map_err(|e| VerifyError::MalformedRequest(e.to_string()))?;
        let timestamp = OffsetDateTime::parse(
            &env.request.timestamp,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| VerifyError::MalformedRequest(format!("request.timestamp: {e}")))?;
        let from_context = env.context.as_ref().and_then(|c| c.system.as_ref());
        let skill_id = from_context
            .and_then(HasApplication::id)
            .or_else(|| env.session.as_ref().and_then(HasApplication::id))
            .map(|id| id.to_string());
        Ok(Self {
            request_type: env.request.kind,
            timestamp,
            skill_id,
        })
    }
}
