//! The compiler driver's, the preprocessor's and the linker's own
//! environment variables (not gg's, see `gg_core::env`) that make a step
//! run locally: one table for gg-cc's compiles and `gg ninja`'s links.

/// A step gg turns into a thunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Compile,
    Link,
}

/// Variables that change what the driver, cc1 or ld read or run in ways a
/// thunk, whose environment is empty, would not reproduce; with the steps
/// they touch. `LD_RUN_PATH` is also written into the output and searched
/// outside the sysroot. `LD_LIBRARY_PATH`, which ld searches for
/// DT_NEEDED libraries, is not here: the link thunk gets it re-rooted (ld
/// does not put the sysroot before it).
pub const ENV_LOCAL: &[(&str, &[Step])] = &[
    ("COMPILER_PATH", &[Step::Compile, Step::Link]),
    ("GCC_EXEC_PREFIX", &[Step::Compile, Step::Link]),
    ("CCC_OVERRIDE_OPTIONS", &[Step::Compile]),
    ("DEPENDENCIES_OUTPUT", &[Step::Compile]),
    ("SUNPRO_DEPENDENCIES", &[Step::Compile]),
    ("LD_RUN_PATH", &[Step::Link]),
    ("LDEMULATION", &[Step::Link]),
];

/// The first variable of [`ENV_LOCAL`] set for `step`: the step must then
/// run locally.
pub fn local_only(step: Step) -> Option<&'static str> {
    first_set(step, &|name| std::env::var_os(name).is_some())
}

/// Set means set, even to nothing: gcc reads an empty `COMPILER_PATH` as
/// the current folder and an empty `GCC_EXEC_PREFIX` as a prefix, so only
/// an unset variable is known to change nothing; running locally is
/// always right, a thunk without the variable might not be. (gg's own
/// `GG_*` variables count empty as unset: that is gg's choice to make.)
fn first_set(step: Step, is_set: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    ENV_LOCAL.iter().find(|(name, steps)| steps.contains(&step) && is_set(name)).map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_set_even_empty_makes_only_its_steps_run_locally() {
        let env =
            |vars: &'static [(&'static str, &'static str)]| move |name: &str| vars.iter().any(|(k, _)| *k == name);
        let both = |vars| (first_set(Step::Compile, &env(vars)), first_set(Step::Link, &env(vars)));
        assert_eq!(both(&[]), (None, None));
        assert_eq!(both(&[("PATH", "/bin")]), (None, None));
        assert_eq!(both(&[("COMPILER_PATH", "")]), (Some("COMPILER_PATH"), Some("COMPILER_PATH")));
        assert_eq!(both(&[("LD_RUN_PATH", "/x")]), (None, Some("LD_RUN_PATH")));
        assert_eq!(both(&[("DEPENDENCIES_OUTPUT", "d")]), (Some("DEPENDENCIES_OUTPUT"), None));
    }
}
