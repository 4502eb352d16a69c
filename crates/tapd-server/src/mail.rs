//! Outgoing mail over SMTP (lettre): the one-time link of a pass, to its user or their manager.
//! A mail never carries a pass code. Configured by the `[smtp]` part of tapd's configuration;
//! without it, mail delivery is refused with a 400.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP upgraded with STARTTLS (port 587 by default); refused if the server can't.
    Starttls,
    /// TLS from the first byte ("SMTPS", port 465 by default).
    Tls,
    /// No TLS at all (port 25 by default): only for a relay on the same host, and for tests.
    None,
}

/// Where and how to send mail.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub host: String,
    /// Default: by `security`, 587, 465 or 25.
    pub port: Option<u16>,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, e.g. `tapd <tapd@contoso.com>`.
    pub from: String,
}

/// Why a mail was not sent. The text names the cause, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0}")]
    Address(String),
    #[error("the SMTP server did not take the mail: {0}")]
    Smtp(String),
}

/// A mail to send.
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The SMTP client, built once at start.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// How long one mail may take, connection included.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

impl Mailer {
    /// Checks the configuration (sender address, TLS parameters) without connecting.
    pub fn new(config: &SmtpConfig) -> Result<Mailer, MailError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| MailError::Address(format!("{:?} in smtp.from", config.from)))?;
        let tls = |e: lettre::transport::smtp::Error| MailError::Smtp(e.to_string());
        let builder = match config.security {
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host).map_err(tls)?
            }
            SmtpSecurity::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(tls)?
            }
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host).port(25)
            }
        };
        let mut builder = builder.timeout(Some(SEND_TIMEOUT));
        if let Some(port) = config.port {
            builder = builder.port(port);
        }
        if let Some(user) = &config.username {
            let password = config.password.clone().unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// Sends one plain-text mail; answers once the server has accepted it.
    pub async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| MailError::Address(mail.to.clone()))?;
        // Quoted-printable whatever the text: a long link or a non-ASCII name stays readable
        // in the raw mail, and the link is never base64.
        let body = Body::new_with_encoding(mail.body, ContentTransferEncoding::QuotedPrintable)
            .map_err(|_| MailError::Smtp("the mail could not be encoded".into()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError::Smtp(e.to_string()))?;
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(MailError::Smtp(e.to_string())),
            Err(_) => Err(MailError::Smtp("no answer within 30 seconds".into())),
        }
    }
}
