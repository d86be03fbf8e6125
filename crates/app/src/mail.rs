//! E-mail through the operator's own SMTP relay (`[mail] smtp_url`), for the few messages that
//! cannot go to a mailbox on the platform: the Mängelmelder's confirmation link and status
//! updates to reporters who are not logged in. Off unless configured. Errors never carry the
//! address.

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// The relay, the sender and the address under which links in the mails point to amtsweg.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// `smtp_url` as lettre reads it: `smtp://host:25` (plain, for a relay on the same
    /// network), `smtp://host:587?tls=required` (STARTTLS), `smtps://user:password@host`
    /// (TLS); `from` like `Mängelmelder Leipzig <maengel@leipzig.example>`; `public_url` the
    /// address citizens reach amtsweg under.
    pub fn new(smtp_url: &str, from: &str, public_url: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp_url)
            .map_err(|_| "Die Adresse des Mailservers ([mail] smtp_url) ist ungültig, zum Beispiel smtp://mail.stadt.example:25.".to_owned())?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from: Mailbox = from.parse().map_err(|_| "Der Absender ([mail] from) ist keine gültige E-Mail-Adresse.".to_owned())?;
        let public_url = public_url.trim().trim_end_matches('/');
        if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
            return Err("Für E-Mails mit Links braucht amtsweg seine öffentliche Adresse ([server] public_url).".into());
        }
        Ok(Self { transport, from, public_url: public_url.to_owned() })
    }

    /// An absolute link to a path of amtsweg.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }

    /// Sends a plain-text mail. The error names what failed, never the address.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|_| "invalid recipient".to_owned())?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(Body::new_with_encoding(body.to_owned(), ContentTransferEncoding::QuotedPrintable).map_err(|_| "mail could not be built".to_owned())?))
            .map_err(|_| "mail could not be built".to_owned())?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| if e.is_permanent() { "smtp refused".to_owned() } else { "smtp unreachable".to_owned() })
    }
}
