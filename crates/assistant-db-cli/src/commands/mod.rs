//! One module per subcommand.

pub mod local;
pub mod migrate;
pub mod schema;
pub mod verify;
