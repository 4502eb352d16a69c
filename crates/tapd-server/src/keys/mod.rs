//! The server's secrets: the key file that hashes pass codes and seals what the database keeps,
//! code and token generation, password hashing, and the token signer with its rotating keys.

mod secrets;
mod tokens;

pub use secrets::*;
pub use tokens::*;
