//! JSONata: the expression language that Amazon States Language uses in its
//! `JSONata` query mode. Compile an expression once, evaluate it many times.
