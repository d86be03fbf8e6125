//! The citizen's mailbox, and questions citizens send to an authority from the assistant.

use crate::ids::{ApplicationId, AuthorityId, MessageId};
use time::OffsetDateTime;

/// A message to be delivered to a citizen's mailbox.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub sender: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: MessageId,
    pub application_id: Option<ApplicationId>,
    pub sender: String,
    pub subject: String,
    pub body: String,
    pub created_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
    /// A document delivered with the message (the Bescheid as PDF).
    pub document_id: Option<String>,
    /// The question this message asks, to be answered from the mailbox.
    pub info_request_id: Option<String>,
}

/// A question the assistant could not answer, sent by a citizen to an authority.
#[derive(Debug, Clone)]
pub struct Inquiry {
    pub id: String,
    pub authority_id: AuthorityId,
    pub citizen_name: String,
    pub question: String,
    pub topic: Option<String>,
    pub created_at: OffsetDateTime,
    pub answer: Option<String>,
    pub answered_at: Option<OffsetDateTime>,
}
