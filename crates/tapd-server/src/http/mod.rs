//! The HTTP edge shared by every room: the Graph error envelope, extractors whose rejections
//! are Graph errors, the bearer-token caller, the request-id middleware, and
//! HTTPS.

pub mod caller;
pub mod client_addr;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod tls;
