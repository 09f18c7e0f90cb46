//! Response envelopes: `Response::ack()` for a bare acknowledgement,
//! `Response::reject_message(reason)` for a message that can never succeed,
//! and a builder for speech, reprompts, cards (`Simple`, `Standard` with
//! images, `LinkAccount`, `AskForPermissionsConsent`) and directives.

use serde::Serialize;
use serde_json::{Map, Value};

use super::MAX_RESPONSE_BYTES;

/// A response envelope, `{"version":"1.0","response":{...}}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_attributes: Option<Map<String, Value>>,
    response: Body,
    /// Set by [`Response::reject_message`]; never serialized.
    #[serde(skip)]
    unprocessable: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    #[serde(skip_serializing_if = "Option::is_none")]
    output_speech: Option<OutputSpeech>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card: Option<Card>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reprompt: Option<Reprompt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    should_end_session: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    directives: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
enum OutputSpeech {
    PlainText {
        text: String,
    },
    #[serde(rename = "SSML")]
    Ssml {
        ssml: String,
    },
}

impl OutputSpeech {
    fn ssml(ssml: String) -> Self {
        let trimmed = ssml.trim_start();
        if trimmed.starts_with("<speak>") || trimmed.starts_with("<speak ") {
            Self::Ssml { ssml }
        } else {
            Self::Ssml {
                ssml: format!("<speak>{ssml}</speak>"),
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Reprompt {
    output_speech: OutputSpeech,
}

/// The card types Alexa defines, serialized as Alexa's `card` object.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
enum Card {
    Simple {
        title: String,
        content: String,
    },
    Standard {
        title: String,
        text: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        image: Option<Image>,
    },
    LinkAccount,
    AskForPermissionsConsent {
        permissions: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    #[serde(skip_serializing_if = "Option::is_none")]
    small_image_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    large_image_url: Option<String>,
}

/// A response over Alexa's size limit ([`MAX_RESPONSE_BYTES`]); a handler
/// error (HTTP 500).
#[derive(Debug, Clone, thiserror::Error)]
#[error("response is {size} bytes, over Alexa's {MAX_RESPONSE_BYTES}-byte limit")]
pub struct ResponseTooLarge {
    /// The serialized size in bytes.
    pub size: usize,
}

impl Default for Response {
    fn default() -> Self {
        Self::ack()
    }
}

impl Response {
    /// The bare acknowledgement: serializes to exactly
    /// `{"version":"1.0","response":{}}`.
    pub fn ack() -> Self {
        Self {
            version: "1.0",
            session_attributes: None,
            response: Body::default(),
            unprocessable: None,
        }
    }

    /// Acknowledge a message that can never be processed (wrong shape,
    /// unknown target...), so that Alexa stops re-delivering it. Serializes
    /// like [`Response::ack`]; the endpoint logs `reason` at error with the
    /// requestId and counts it in `alexa_endpoint_messages_unprocessable_total`
    /// (access-log outcome `unprocessable`). `reason` must not contain a token.
    pub fn reject_message(reason: impl Into<String>) -> Self {
        Self {
            unprocessable: Some(reason.into()),
            ..Self::ack()
        }
    }

    /// The reason given to [`Response::reject_message`], if this is one.
    pub fn unprocessable_reason(&self) -> Option<&str> {
        self.unprocessable.as_deref()
    }

    /// Starts building a response.
    pub fn builder() -> ResponseBuilder {
        ResponseBuilder::default()
    }

    /// Compact JSON bytes, or [`ResponseTooLarge`] over [`MAX_RESPONSE_BYTES`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, ResponseTooLarge> {
        // Only strings, bools and `Value`s with string keys: cannot fail.
        #[allow(clippy::expect_used)]
        let bytes = serde_json::to_vec(self).expect("a Response always serializes");
        if bytes.len() > MAX_RESPONSE_BYTES {
            return Err(ResponseTooLarge { size: bytes.len() });
        }
        Ok(bytes)
    }
}

/// Builds a [`Response`]; every method is optional.
#[derive(Debug, Clone, Default)]
pub struct ResponseBuilder {
    session_attributes: Option<Map<String, Value>>,
    body: Body,
}

impl ResponseBuilder {
    /// `outputSpeech` of type `PlainText`.
    pub fn speak(mut self, text: impl Into<String>) -> Self {
        self.body.output_speech = Some(OutputSpeech::PlainText { text: text.into() });
        self
    }

    /// `outputSpeech` of type `SSML`; wrapped in `<speak>…</speak>` unless it
    /// already is.
    pub fn speak_ssml(mut self, ssml: impl Into<String>) -> Self {
        self.body.output_speech = Some(OutputSpeech::ssml(ssml.into()));
        self
    }

    /// `reprompt` with `PlainText` speech.
    pub fn reprompt(mut self, text: impl Into<String>) -> Self {
        self.body.reprompt = Some(Reprompt {
            output_speech: OutputSpeech::PlainText { text: text.into() },
        });
        self
    }

    /// `reprompt` with `SSML` speech (wrapped in `<speak>` unless it already is).
    pub fn reprompt_ssml(mut self, ssml: impl Into<String>) -> Self {
        self.body.reprompt = Some(Reprompt {
            output_speech: OutputSpeech::ssml(ssml.into()),
        });
        self
    }

    /// A `Simple` card.
    pub fn simple_card(mut self, title: impl Into<String>, content: impl Into<String>) -> Self {
        self.body.card = Some(Card::Simple {
            title: title.into(),
            content: content.into(),
        });
        self
    }

    /// A `Standard` card, with an image when either URL is given.
    pub fn standard_card(
        mut self,
        title: impl Into<String>,
        text: impl Into<String>,
        small_image_url: Option<String>,
        large_image_url: Option<String>,
    ) -> Self {
        let image = (small_image_url.is_some() || large_image_url.is_some()).then_some(Image {
            small_image_url,
            large_image_url,
        });
        self.body.card = Some(Card::Standard {
            title: title.into(),
            text: text.into(),
            image,
        });
        self
    }

    /// A `LinkAccount` card: the Alexa app offers the user to link their
    /// account (`{"type":"LinkAccount"}`).
    pub fn link_account_card(mut self) -> Self {
        self.body.card = Some(Card::LinkAccount);
        self
    }

    /// An `AskForPermissionsConsent` card: the Alexa app asks the user to
    /// grant `scopes`, e.g. `["read::alexa:household:list",
    /// "write::alexa:household:list"]` for the List Management API
    /// (`{"type":"AskForPermissionsConsent","permissions":[...]}`).
    pub fn ask_for_permissions_consent<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.body.card = Some(Card::AskForPermissionsConsent {
            permissions: scopes.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// `shouldEndSession`.
    pub fn should_end_session(mut self, end: bool) -> Self {
        self.body.should_end_session = Some(end);
        self
    }

    /// Appends a directive to `directives`, passed through as given.
    pub fn directive(mut self, directive: Value) -> Self {
        self.body.directives.push(directive);
        self
    }

    /// Sets one entry of `sessionAttributes`.
    pub fn session_attribute(mut self, key: impl Into<String>, value: Value) -> Self {
        self.session_attributes
            .get_or_insert_with(Map::new)
            .insert(key.into(), value);
        self
    }

    /// The finished response.
    pub fn build(self) -> Response {
        Response {
            version: "1.0",
            session_attributes: self.session_attributes,
            response: self.body,
            unprocessable: None,
        }
    }
}
