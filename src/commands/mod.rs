//! The command layer: one file per action, each a struct of inputs with an `execute` that
//! returns a typed result. Nothing here prints.
