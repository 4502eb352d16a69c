//! The one error type of the domain, in domain words: what kind of refusal it is and a message
//! for the person who asked. Each edge of the server (Graph, OAuth, pages) maps it to its own
//! wire form in one place.

/// A refusal by a domain rule. The message is meant for the API caller, so it names what was
/// wrong and never anything internal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The request is malformed or breaks a rule.
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this.
    #[error("{0}")]
    AccessDenied(String),
    /// The object does not exist (or is not the caller's to know of).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with existing state.
    #[error("{0}")]
    Conflict(String),
}

impl DomainError {
    /// The human-readable message, without the variant.
    pub fn message(&self) -> &str {
        match self {
            DomainError::BadRequest(m)
            | DomainError::AccessDenied(m)
            | DomainError::NotFound(m)
            | DomainError::Conflict(m) => m,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_message_are_the_bare_message() {
        let error = DomainError::NotFound("User 'x' was not found.".into());
        assert_eq!(error.to_string(), "User 'x' was not found.");
        assert_eq!(error.message(), "User 'x' was not found.");
    }
}
