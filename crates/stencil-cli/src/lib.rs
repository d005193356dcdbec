//! The `stencil` command line: the server (`serve`) and an ECS API client that signs with V3
//! (or V1), used by the client commands and by the test kit.

pub mod client;
