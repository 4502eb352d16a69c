//! The one error type of the domain. Each variant corresponds to one Graph error code and HTTP
//! status, so the server maps it to a response in a single place and handlers never pick codes.

/// A refusal by a domain rule. The message is meant for the API caller, so it names what was
/// wrong and never anything internal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The request is malformed or breaks a rule (Graph `badRequest`, HTTP 400).
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this (Graph `accessDenied`, HTTP 403).
    #[error("{0}")]
    AccessDenied(String),
    /// The object does not exist (Graph `itemNotFound`, HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with existing state (Graph `conflict`, HTTP 409).
    #[error("{0}")]
    Conflict(String),
}

impl DomainError {
    /// The Graph error code for the `error.code` field of the envelope.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::BadRequest(_) => "badRequest",
            DomainError::AccessDenied(_) => "accessDenied",
            DomainError::NotFound(_) => "itemNotFound",
            DomainError::Conflict(_) => "conflict",
        }
    }

    /// The HTTP status code that goes with [`DomainError::code`].
    pub fn status(&self) -> u16 {
        match self {
            DomainError::BadRequest(_) => 400,
            DomainError::AccessDenied(_) => 403,
            DomainError::NotFound(_) => 404,
            DomainError::Conflict(_) => 409,
        }
    }

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
    fn each_variant_maps_to_its_graph_code_and_status() {
        let cases = [
            (DomainError::BadRequest("b".into()), "badRequest", 400),
            (DomainError::AccessDenied("a".into()), "accessDenied", 403),
            (DomainError::NotFound("n".into()), "itemNotFound", 404),
            (DomainError::Conflict("c".into()), "conflict", 409),
        ];
        for (error, code, status) in cases {
            assert_eq!(error.code(), code, "{error:?}");
            assert_eq!(error.status(), status, "{error:?}");
        }
    }

    #[test]
    fn display_and_message_are_the_bare_message() {
        let error = DomainError::NotFound("User 'x' was not found.".into());
        assert_eq!(error.to_string(), "User 'x' was not found.");
        assert_eq!(error.message(), "User 'x' was not found.");
    }
}
