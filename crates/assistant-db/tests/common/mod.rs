//! Shared test support: the workspace's test-support crate, under the name tests use.
#![allow(unused_imports)]

pub use assistant_db_testkit::db::*;
pub use assistant_db_testkit::rest;
