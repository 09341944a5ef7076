//! One integration-test binary for the wire format: the payload corpus and the parser fuzzing.

mod corpus;
mod fuzz;
mod items;
mod send_builders;
