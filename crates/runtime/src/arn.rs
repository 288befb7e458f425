//! ARNs of Step Functions resources, as far as the runtime needs them: tell
//! a state machine ARN from a version or alias ARN, and derive execution
//! ARNs (`…:execution:<machine>:<name>`, `…:express:<machine>:<name>:<uuid>`).
//! Parsed by `statecraft_types::arn`, the one parser the server uses too.

pub use statecraft_types::arn::{execution_arn, target, Arn, ArnError, Resource, Target};
