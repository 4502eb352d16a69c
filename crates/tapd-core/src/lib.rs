//! tapd's domain: the Temporary Access Pass policy, the pass and its usability, issuing rules,
//! token lifetime caps, when a new sign-in method may be registered, and who may do what (roles
//! and application permissions).
//!
//! Nothing here does I/O, draws randomness or reads the clock: the current instant and any random
//! bytes are arguments, so every rule can be tested with fixed inputs. The HTTP layer maps
//! [`DomainError`] to Graph error envelopes; the store persists the types defined here.

mod apps;
mod authorize;
mod bulk;
mod device;
mod domains;
mod encoding;
mod error;
mod federation;
mod fido2;
mod methods;
pub mod odata;
mod pass;
mod policy;
mod policy_form;
mod report;
mod roles;
mod throttle;

pub use apps::*;
pub use authorize::*;
pub use bulk::*;
pub use device::*;
pub use domains::*;
pub use encoding::*;
pub use error::*;
pub use federation::*;
pub use fido2::*;
pub use methods::*;
pub use pass::*;
pub use policy::*;
pub use policy_form::*;
pub use report::*;
pub use roles::*;
pub use throttle::*;
