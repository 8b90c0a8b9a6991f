//! The generator's own tests: small cases export to C that compiles
//! warning-free and reaches the interpreter's verdict.
