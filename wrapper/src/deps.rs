//! A compile's dependencies as the compiler reports them: the `-M` flags
//! gg adds (to a compile in place, or to a preprocessor-only scan), both
//! naming the targets a depfile of the user's would name, and the `-MMD`
//! depfile gg writes itself from a full list. The targets' rule (`-MT`,
//! `-MQ`, the driver's default) lives here once.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::Result;

use crate::args::{Compile, DepRequest};
use crate::depfile;
use crate::job::Job;
use crate::toolchain::Family;

/// The target a depfile names when the user named none: with `-Wp,-MD`
/// the preprocessor's own choice, else what the driver adds for `-o`.
fn default_target(c: &Compile, d: &DepRequest) -> String {
    if d.via_wp {
        c.output_path_for_deps()
    } else {
        c.output.clone().unwrap_or_else(|| c.output_path_for_deps())
    }
}

/// The targets as flags: with `with_default`, `-MP` if asked for and the
/// default target when the user named none (the `-Wp,` form carries both
/// itself); then the user's `-MQ`/`-MT`, in order.
fn target_flags(c: &Compile, d: &DepRequest, with_default: bool) -> Vec<String> {
    let mut flags = Vec::new();
    if d.phony && with_default {
        flags.push("-MP".into());
    }
    if with_default && d.targets.is_empty() {
        flags.extend(["-MQ".into(), default_target(c, d)]);
    }
    for (t, quoted) in &d.targets {
        flags.push(if *quoted { "-MQ" } else { "-MT" }.into());
        flags.push(t.clone());
    }
    flags
}

/// Dependency options for the real compile: always the full list (system
/// headers included) into our temp file, with the user's targets, so that
/// with `-MD` the file is exactly what the user asked for.
pub(crate) fn compile_flags(c: &Compile, dep_tmp: &Path) -> Vec<String> {
    let tmp = dep_tmp.to_string_lossy().into_owned();
    if !c.lang.preprocessed_by_compiler() {
        return Vec::new();
    }
    let Some(d) = &c.deps else { return vec!["-MD".into(), "-MF".into(), tmp] };
    if d.via_wp {
        // The preprocessor names the default target itself.
        let mut flags = vec![format!("-Wp,-MD,{tmp}{}", if d.phony { ",-MP" } else { "" })];
        flags.extend(target_flags(c, d, false));
        return flags;
    }
    let mut flags = vec!["-MD".into(), "-MF".into(), tmp];
    flags.extend(target_flags(c, d, true));
    flags
}

/// Options for a preprocessor-only scan into `out`, with the targets a
/// compile with `-MD` would write.
fn scan_flags(c: &Compile, out: &Path) -> Vec<String> {
    let mut flags = vec!["-M".into(), "-MF".into(), out.to_string_lossy().into_owned()];
    match &c.deps {
        Some(d) => flags.extend(target_flags(c, d, true)),
        None => flags.extend(["-MQ".into(), c.output_path()]),
    }
    flags
}

/// Runs the preprocessor for the dependency list only, with the targets a
/// compile with `-MD` would write, and returns the depfile's text; `None`
/// if it fails (the in-place compile then reports the error exactly).
pub fn scan(job: &Job<'_>) -> Result<Option<String>> {
    let c = job.compile;
    let tmp = job.store.temp_path("scan");
    let mut args: Vec<String> = c.args.iter().filter(|a| *a != "-c" && *a != "-S").cloned().collect();
    args.extend(scan_flags(c, &tmp));
    let mut cmd = Command::new(&job.inv.compiler);
    {
        use std::os::unix::process::CommandExt;
        cmd.arg0(&job.inv.arg0);
    }
    let out = cmd.args(&args).output()?;
    let text = fs::read_to_string(&tmp);
    let _ = fs::remove_file(&tmp);
    if !out.status.success() {
        return Ok(None);
    }
    Ok(text.ok())
}

/// The depfile the user asked for, from the full list of what the compile
/// read (a thunk's dependency output), laid out as the compiler lays it
/// out: with `-MMD`, without system headers.
pub fn user_depfile_bytes(job: &Job<'_>, d: &DepRequest, inputs: &[String]) -> Vec<u8> {
    if d.user_only {
        return user_only_depfile(job, d, inputs);
    }
    render(job, d, inputs)
}

/// The `-MMD` depfile: the full list without system headers, laid out as
/// gcc lays it out.
pub fn user_only_depfile(job: &Job<'_>, d: &DepRequest, inputs: &[String]) -> Vec<u8> {
    let c = job.compile;
    let system: Vec<&String> = job.toolchain.includes(c.lang).iter().collect();
    let user_isystem = user_system_dirs(&c.args);
    let is_system = |p: &str| {
        let abs = job.absolute(p);
        system.iter().any(|s| abs.starts_with(&format!("{s}/")))
            || user_isystem.iter().any(|s| abs.starts_with(&format!("{}/", job.absolute(s))))
    };
    let deps: Vec<String> =
        inputs.iter().enumerate().filter(|(i, p)| *i == 0 || !is_system(p)).map(|(_, p)| p.clone()).collect();
    render(job, d, &deps)
}

/// `deps` as the compiler writes a depfile, with the user's targets.
fn render(job: &Job<'_>, d: &DepRequest, deps: &[String]) -> Vec<u8> {
    let c = job.compile;
    let targets: Vec<String> = if d.targets.is_empty() {
        vec![depfile::quote(&default_target(c, d))]
    } else {
        d.targets.iter().map(|(t, q)| if *q { depfile::quote(t) } else { t.clone() }).collect()
    };
    match job.toolchain.family {
        Family::Gcc => depfile::write_gcc(&targets, deps, d.phony),
        Family::Clang => depfile::write_clang(&targets, deps, d.phony),
    }
    .into_bytes()
}

/// Folders named by `-isystem`/`-idirafter` (their headers are system headers).
fn user_system_dirs(args: &[String]) -> Vec<String> {
    crate::args::option_values(args, &["-isystem", "-idirafter"])
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{compile_flags, scan_flags};
    use crate::args::{classify, Classified, Compile};

    fn compile(line: &str) -> Compile {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        match classify(&args) {
            Classified::Compile(c) => c,
            Classified::Local(why) => panic!("`{line}` runs locally: {why}"),
        }
    }

    fn words(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn without_a_request_the_compile_gets_a_full_list_and_the_scan_the_output_as_target() {
        let c = compile("-c src/a.c -o obj/a.o");
        assert_eq!(compile_flags(&c, Path::new("/t/d")), words(&["-MD", "-MF", "/t/d"]));
        assert_eq!(scan_flags(&c, Path::new("/t/s")), words(&["-M", "-MF", "/t/s", "-MQ", "obj/a.o"]));
    }

    #[test]
    fn the_driver_form_names_the_output_and_keeps_mp() {
        let c = compile("-c src/a.c -o obj/a.o -MMD -MF obj/a.d -MP");
        assert_eq!(compile_flags(&c, Path::new("/t/d")), words(&["-MD", "-MF", "/t/d", "-MP", "-MQ", "obj/a.o"]));
        assert_eq!(scan_flags(&c, Path::new("/t/s")), words(&["-M", "-MF", "/t/s", "-MP", "-MQ", "obj/a.o"]));
    }

    #[test]
    fn the_users_targets_replace_the_default_in_order() {
        let c = compile("-c a.c -o a.o -MD -MT x -MQ y$");
        let targets = ["-MT", "x", "-MQ", "y$"];
        assert_eq!(compile_flags(&c, Path::new("/t/d")), [words(&["-MD", "-MF", "/t/d"]), words(&targets)].concat());
        assert_eq!(scan_flags(&c, Path::new("/t/s")), [words(&["-M", "-MF", "/t/s"]), words(&targets)].concat());
    }

    #[test]
    fn the_preprocessor_form_names_the_sources_object_whatever_the_output() {
        let c = compile("-c src/a.c -o obj/b.o -Wp,-MD,obj/b.d,-MP");
        // The compile hands the default target and -MP to the preprocessor.
        assert_eq!(compile_flags(&c, Path::new("/t/d")), words(&["-Wp,-MD,/t/d,-MP"]));
        // The scan spells them out, as the preprocessor would choose them.
        assert_eq!(scan_flags(&c, Path::new("/t/s")), words(&["-M", "-MF", "/t/s", "-MP", "-MQ", "a.o"]));
    }

    #[test]
    fn assembler_without_preprocessing_gets_no_flags() {
        let c = compile("-c a.s -o a.o");
        assert!(compile_flags(&c, Path::new("/t/d")).is_empty());
    }
}
