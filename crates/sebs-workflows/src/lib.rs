//! Multi-function applications in SeBS-Flow's format: definitions ([`definition`]), their
//! validation, and an engine that runs them over a platform's functions.

pub mod definition;

pub use definition::{
    Case, Definition, DefinitionError, Loop, Map, Op, Parallel, Repeat, State, Switch, Task,
};
