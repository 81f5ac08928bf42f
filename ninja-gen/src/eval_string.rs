//! Rule variables as the parser keeps them, unevaluated: what the graph
//! stores ([`crate::graph`]) and [`crate::eval`] evaluates per edge. Apart
//! from both, so that neither imports the other for it.

use crate::intern::Sym;

/// An unevaluated string: literal text and `$variable` references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvalString {
    pub(crate) pieces: Vec<EvalPiece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EvalPiece {
    Lit(Box<str>),
    Var(Sym),
}

impl EvalString {
    /// True if the string has no text and no references (`command =`).
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }
}
