//! `gg-jail`: the jail keeper that gg, gg-cc and gg-worker start once per
//! process to jail thunks (`GG_SANDBOX=strict`, and every thunk on a
//! worker). Not run by hand; see `gg_core::jail`.

fn main() {
    gg_core::jail::keeper::main()
}
