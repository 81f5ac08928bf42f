//! Toolchain discovery: which files make up a compiler (driver, compiler
//! proper, assembler, their shared libraries), their hashes, and the
//! default system include folders. The answer is asked of the compiler
//! itself (`-print-prog-name`, `-v`) and of the dynamic loader (`--list`),
//! never guessed, and cached per driver (path, size, mtime, PATH) and
//! [`Half`], so it costs nothing after the first call.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use gg_core::{fsutil, Name, Store};
use serde::{Deserialize, Serialize};

use crate::args::Lang;

/// Bump when what discovery records (or how) changes.
const TOOLCHAIN_VERSION: u32 = 7;

/// Which of a driver's compilers a compile runs, and so which files its
/// thunk carries and which default folders it searches: gcc's `cc1` for C
/// and assembler, `cc1plus` for C++ (clang runs both in process; its halves
/// differ in their folders only). A C compile neither carries nor hashes
/// the 35 MB C++ compiler, and a C project never runs its probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Half {
    C,
    Cxx,
}

impl Half {
    /// The half that compiles `lang`.
    pub fn of(lang: Lang) -> Half {
        if lang.is_cxx() {
            Half::Cxx
        } else {
            Half::C
        }
    }

    /// gcc's compiler proper for it.
    fn compiler_proper(self) -> &'static str {
        match self {
            Half::C => "cc1",
            Half::Cxx => "cc1plus",
        }
    }

    /// Its language, as `-x` names it.
    fn x(self) -> &'static str {
        match self {
            Half::C => "c",
            Half::Cxx => "c++",
        }
    }
}

/// Why a compiler that is a script runs locally (see [`is_script`]).
pub const SCRIPT: &str = "the compiler is a script";

/// Whether `driver` is not an ELF program (a `#!` script, or anything
/// else the kernel hands to an interpreter). Such a driver is only a
/// wrapper: what it runs (a compiler found on its PATH or through a link
/// it follows) can change while the script and every file discovery saw
/// stay the same, and probing what it runs on every call would cost more
/// than compiling. So it runs locally. One `read` of four bytes per call.
pub fn is_script(driver: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let read = fs::File::open(driver).and_then(|mut f| f.read_exact(&mut magic));
    read.is_ok() && &magic != b"\x7fELF"
}

/// gcc or clang: they differ in parts and in depfile layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Family {
    Gcc,
    Clang,
}

/// Everything a compile thunk needs from the compiler's installation, for
/// one [`Half`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchain {
    pub family: Family,
    /// The compiler it holds.
    pub half: Half,
    /// The driver as invoked (absolute), where the thunk runs it from.
    pub driver: String,
    /// Every file of the toolchain (absolute path, hash), sorted by path:
    /// the programs (as called and resolved through symlinks), the loader
    /// (resolved), and their libraries at the paths the loader looks them
    /// up by (`…/libisl.so.23`, not the `libisl.so.23.2.0` it leads to).
    pub files: Vec<(String, Name)>,
    /// Default system include folders, in search order (resolved).
    pub includes: Vec<String>,
    /// The same folders as the compiler itself spells them (clang's
    /// `/usr/bin/../lib/gcc/…/../../../../include/c++/12`): the spelling is
    /// what debug info records, so a thunk searches them under it.
    pub search: Vec<String>,
    /// The programs the thunk starts (the driver under the name it is
    /// called by, cc1 or cc1plus, as): launcher name and absolute path.
    pub stages: Vec<(String, String)>,
    /// The dynamic loader the programs name (resolved), if they are
    /// dynamically linked.
    pub loader: Option<String>,
    /// The static stage launcher (see `launcher/launch.c`), stored in the
    /// store; `None` if it could not be built (the thunk then relies on the
    /// machine's loader).
    pub launcher: Option<Name>,
    /// (size, mtime s, mtime ns) of every file when it was hashed: a
    /// cached toolchain whose files changed since is discovered again.
    pub stamps: Vec<Stamp>,
    /// A digest over all of the above: the compiler's identity in cache keys.
    pub id: String,
}

impl Toolchain {
    /// Whether every file is as it was when discovered, and PATH still
    /// leads to the same assembler (a new `as` earlier on PATH changes
    /// nothing else).
    fn still_valid(&self) -> bool {
        let files_same = self.files.len() == self.stamps.len()
            && self.files.iter().zip(&self.stamps).all(|((p, _), s)| stamp(Path::new(p)).as_ref() == Some(s));
        let asm = self.stages.iter().find(|(n, _)| n == "as").map(|(_, p)| p.as_str());
        let asm_now = which("as").map(|p| std::path::absolute(&p).unwrap_or(p).to_string_lossy().into_owned());
        files_same && (self.family == Family::Clang || asm == asm_now.as_deref())
    }
}

/// A file's size and modification time, to tell it changed since it was hashed.
type Stamp = (u64, i64, i64);

fn stamp(p: &Path) -> Option<Stamp> {
    let m = fs::metadata(p).ok()?;
    Some((m.len(), m.mtime(), m.mtime_nsec()))
}

impl Toolchain {
    /// Default system include folders for a compile in `lang` (resolved),
    /// which must be of this half.
    pub fn includes(&self, lang: Lang) -> &[String] {
        debug_assert_eq!(Half::of(lang), self.half, "a compile is given its own half of the toolchain");
        &self.includes
    }

    /// The same folders as the compiler spells them, for a thunk's
    /// `-isystem` options.
    pub fn search_dirs(&self, lang: Lang) -> &[String] {
        debug_assert_eq!(Half::of(lang), self.half, "a compile is given its own half of the toolchain");
        &self.search
    }
}

/// The `half` of the toolchain of `driver` (absolute), from the cache or
/// discovered.
pub fn discover(store: &Store, driver: &Path, half: Half) -> Result<Toolchain> {
    let meta = fs::metadata(driver).with_context(|| format!("cannot stat compiler `{}`", driver.display()))?;
    let path_var = std::env::var("PATH").unwrap_or_default();
    let key = blake3::hash(
        format!(
            "{TOOLCHAIN_VERSION}\0{half:?}\0{}\0{}\0{}\0{}\0{path_var}",
            driver.display(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec()
        )
        .as_bytes(),
    );
    let dir = store.root().join("toolchains");
    let cache = dir.join(key.to_hex().as_str());
    let cached = || -> Option<Toolchain> {
        let t = serde_json::from_slice::<Toolchain>(&fs::read(&cache).ok()?).ok()?;
        if t.still_valid() {
            return Some(t);
        }
        crate::log::debug(&format!("`{}` changed since it was discovered", driver.display()));
        None
    };
    if let Some(t) = cached() {
        return Ok(t);
    }
    // A build starts many compiles at once on a fresh store: one discovers
    // (hashing and storing the whole toolchain) while the others wait for
    // its answer instead of each doing the same. Without the lock (a
    // read-only store) each discovers for itself.
    let _lock = lock(&store.root().join("toolchains.lock"));
    if let Some(t) = cached() {
        return Ok(t);
    }
    let t = discover_uncached(driver, half, Some(store))?;
    fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    fsutil::write_atomic(&cache, &serde_json::to_vec(&t)?)
        .with_context(|| format!("cannot write `{}`", cache.display()))?;
    Ok(t)
}

/// An exclusive lock on the file at `path`, held until it is dropped.
fn lock(path: &Path) -> Option<fs::File> {
    use std::os::fd::AsRawFd;
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(path).ok()?;
    // SAFETY: flock on a descriptor we own; released when it closes.
    (unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0).then_some(file)
}

fn discover_uncached(driver: &Path, half: Half, store: Option<&Store>) -> Result<Toolchain> {
    // Six compiler and loader runs and 45 to 50 MB to hash, on an empty
    // store paid by the first compile of a build: the independent parts
    // run side by side (storing the launcher, or building it where gg
    // carries none, the include probe, the rest here; libraries and
    // hashes on rayon's pool).
    let loader =
        fs::canonicalize(driver).ok().and_then(|real| loader_of(&real)).map(|l| l.to_string_lossy().into_owned());
    let dynamic = loader.is_some();
    std::thread::scope(|s| {
        let launcher = s.spawn(move || match store {
            Some(store) if dynamic => store_launcher(store, driver),
            _ => None,
        });
        let probe = s.spawn(|| include_dirs(driver, half.x()));
        let (stages, files) = programs_and_files(driver, half)?;
        let probe = probe.join().expect("the include probe does not panic")?;
        let launcher = launcher.join().expect("the launcher's build does not panic");
        finish_discovery(driver, half, stages, files, &probe, loader, launcher)
    })
}

/// Programs a thunk starts: launcher name and absolute path.
type Stages = Vec<(String, String)>;

/// The compiler's stages for `half` (name, absolute path) and every file
/// it runs: the programs, at the paths they are called by and the files
/// those lead to, their loader and the libraries it loads.
fn programs_and_files(driver: &Path, half: Half) -> Result<(Stages, BTreeSet<PathBuf>)> {
    use rayon::prelude::*;
    let driver_name = driver.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut stages = vec![(driver_name, driver.to_string_lossy().into_owned())];
    let mut programs = vec![driver.to_path_buf()];
    // gcc names its compiler proper's path; clang has none (it compiles in
    // process) and answers with the bare name, which is no file.
    let part = half.compiler_proper();
    let p = run(driver, &[&format!("-print-prog-name={part}")])?;
    let p = PathBuf::from(p.trim());
    if p.is_absolute() && p.exists() {
        stages.push((part.to_string(), p.to_string_lossy().into_owned()));
        programs.push(p);
    }
    // The assembler the driver runs (`as` from PATH unless installed beside).
    let asm = run(driver, &["-print-prog-name=as"])?;
    if let Some(asm) = which(asm.trim()) {
        let abs = std::path::absolute(&asm).unwrap_or_else(|_| asm.clone());
        stages.push(("as".to_string(), abs.to_string_lossy().into_owned()));
        programs.push(asm);
    }
    let per_program: Vec<Vec<PathBuf>> = programs
        .par_iter()
        .map(|p| -> Result<Vec<PathBuf>> {
            let real = fs::canonicalize(p).with_context(|| format!("cannot resolve `{}`", p.display()))?;
            // Also at the path it is called by (`/usr/bin/as` is a link to
            // `x86_64-linux-gnu-as`): a sandbox has no links, only files.
            let mut files = vec![std::path::absolute(p).unwrap_or_else(|_| p.clone()), real.clone()];
            files.extend(loader_of(&real));
            // The shipped loader is given the libraries' folders and looks
            // each one up there by the name it is needed by: shipped under
            // the file a link leads to, it would not be found there, and
            // the loader would take the machine's from its cache instead.
            files.extend(loaded_libraries(&real));
            Ok(files)
        })
        .collect::<Result<_>>()?;
    Ok((stages, per_program.into_iter().flatten().collect()))
}

/// Hashes the toolchain's files and puts the discovery together.
#[allow(clippy::too_many_arguments)]
fn finish_discovery(
    driver: &Path,
    half: Half,
    stages: Stages,
    mut files: BTreeSet<PathBuf>,
    probe: &IncludeProbe,
    loader: Option<String>,
    launcher: Option<Name>,
) -> Result<Toolchain> {
    use rayon::prelude::*;
    // clang reaches libstdc++'s headers through the GCC installation it
    // selects (`…/lib/gcc/x86_64-linux-gnu/12/../../../../include`), a folder
    // that must then exist in the sandbox: its crtbegin.o, which is also
    // what clang's driver looks for to select it, makes it exist.
    if let Some(gcc) = &probe.gcc_installation {
        let crt = PathBuf::from(crate::path::normalize(&format!("{gcc}/crtbegin.o")));
        if crt.is_file() {
            files.insert(crt);
        }
    }
    // Stamped before they are hashed, so a file changed meanwhile is seen
    // changed the next time. A program listed both at the path it is
    // called by and at the file that leads to is hashed once.
    let files: Vec<PathBuf> = files.into_iter().collect();
    let stamps: Vec<Stamp> = files
        .iter()
        .map(|f| stamp(f).with_context(|| format!("cannot stat `{}`", f.display())))
        .collect::<Result<_>>()?;
    let real: Vec<PathBuf> = files.iter().map(|f| fs::canonicalize(f).unwrap_or_else(|_| f.clone())).collect();
    let unique: Vec<&PathBuf> = real.iter().collect::<BTreeSet<_>>().into_iter().collect();
    let names: std::collections::HashMap<&PathBuf, Name> = unique
        .par_iter()
        .map(|f| Ok((*f, Name::of_file(f).with_context(|| format!("cannot hash `{}`", f.display()))?)))
        .collect::<Result<_>>()?;
    let hashed: Vec<(String, Name)> =
        files.iter().zip(&real).map(|(f, r)| (f.to_string_lossy().into_owned(), names[r])).collect();
    let includes: Vec<String> = probe.dirs.iter().map(|(_, canon)| canon.clone()).collect();
    let search = spelled_dirs(&probe.dirs, &hashed);
    let family = probe.family;
    let mut id = blake3::Hasher::new();
    id.update(format!("{TOOLCHAIN_VERSION}\0{family:?}\0{half:?}\0{}\0", driver.display()).as_bytes());
    for (p, n) in &hashed {
        id.update(format!("{p}={n}\0").as_bytes());
    }
    for d in includes.iter().chain(&search) {
        id.update(format!("{d}\0").as_bytes());
    }
    for (name, path) in &stages {
        id.update(format!("{name}={path}\0").as_bytes());
    }
    id.update(format!("{loader:?}\0{launcher:?}").as_bytes());
    Ok(Toolchain {
        family,
        half,
        driver: driver.to_string_lossy().into_owned(),
        files: hashed,
        includes,
        search,
        stages,
        loader,
        launcher,
        stamps,
        id: id.finalize().to_hex().to_string(),
    })
}

/// gg's stage launcher as `build.rs` built it with gg; empty where it could
/// not (then discovery builds it with the user's compiler).
const BUILT_LAUNCHER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/launch"));

/// Stores the static stage launcher: the one built with gg, else one built
/// now with the user's compiler.
fn store_launcher(store: &Store, driver: &Path) -> Option<Name> {
    if BUILT_LAUNCHER.is_empty() {
        return build_launcher(store, driver);
    }
    match store.put_bytes(gg_core::Kind::Value, BUILT_LAUNCHER) {
        Ok(name) => Some(name),
        Err(e) => {
            crate::log::debug(&format!("cannot store the stage launcher ({e}): thunks use the machine's loader"));
            None
        }
    }
}

/// Builds the static stage launcher with the compiler itself and stores it;
/// `None` (with a debug note) if it cannot be built, e.g. without libc.a.
///
/// The source comes on stdin so that no temp file name reaches the binary:
/// the launcher must come out byte-identical every time, as its hash is
/// part of the toolchain's identity (concurrent first calls each build it).
fn build_launcher(store: &Store, driver: &Path) -> Option<Name> {
    use std::io::Write;
    let bin = store.temp_path("launch");
    let built = Command::new(driver)
        .args(["-x", "c", "-static", "-Os", "-o"])
        .arg(&bin)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            let fed = child.stdin.take().expect("piped").write_all(include_str!("launcher/launch.c").as_bytes());
            let status = child.wait()?;
            fed.map(|()| status)
        })
        .is_ok_and(|s| s.success());
    let name = if built { store.put_file(&bin).ok() } else { None };
    let _ = fs::remove_file(&bin);
    if name.is_none() {
        crate::log::debug(&format!("no static launcher for `{}`: thunks use the machine's loader", driver.display()));
    }
    name
}

/// The environment-variable form of a stage name (as the launcher forms it).
pub fn launch_key(name: &str) -> String {
    let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("GG_LAUNCH_{safe}")
}

/// Runs the driver and returns its stdout and stderr together.
fn run(driver: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(driver)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`", driver.display()))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() && !args.contains(&"-v") {
        bail!("`{} {}` failed: {text}", driver.display(), args.join(" "));
    }
    Ok(text)
}

/// What `-v` says of an empty input's header search.
struct IncludeProbe {
    /// clang says so ("clang version …"); gcc does not.
    family: Family,
    /// The default `#include <…>` folders in order: as printed, resolved.
    dirs: Vec<(String, String)>,
    /// clang's "Selected GCC installation", as printed.
    gcc_installation: Option<String>,
}

/// The default `#include <…>` folders, from `-v` on an empty input.
fn include_dirs(driver: &Path, lang: &str) -> Result<IncludeProbe> {
    let out = Command::new(driver)
        .args(["-x", lang, "-E", "-v", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`", driver.display()))?;
    let text = String::from_utf8_lossy(&out.stderr);
    let family = if text.lines().any(|l| l.contains("clang version ")) { Family::Clang } else { Family::Gcc };
    let mut probe = IncludeProbe { family, dirs: Vec::new(), gcc_installation: None };
    let (mut inside, mut listed) = (false, false);
    for line in text.lines() {
        if let Some(gcc) = line.strip_prefix("Selected GCC installation: ") {
            probe.gcc_installation = Some(gcc.trim().to_string());
        } else if line.starts_with("#include <...> search starts here:") {
            (inside, listed) = (true, true);
        } else if line.starts_with("End of search list.") {
            break;
        } else if inside {
            let dir = line.trim().trim_end_matches(" (framework directory)");
            // Resolved, to tell system headers by path.
            let canon = fs::canonicalize(dir).map_or_else(|_| dir.to_string(), |p| p.to_string_lossy().into_owned());
            probe.dirs.push((dir.to_string(), canon));
        }
    }
    if !listed {
        // Not a gcc or clang driver, or one that cannot compile `lang`.
        bail!("`{} -x {lang} -E -v -` listed no header search: {}", driver.display(), text.trim());
    }
    Ok(probe)
}

/// Each folder as the compiler spells it when every folder its `..`
/// steps climb out of will exist in a sandbox (holds one of `files`, placed
/// at their lexical paths), else resolved: a spelling the sandbox could not
/// follow would lose the headers, a resolved one only their spelling.
fn spelled_dirs(dirs: &[(String, String)], files: &[(String, Name)]) -> Vec<String> {
    let exists = |dir: &str| files.iter().any(|(f, _)| f.starts_with(&format!("{dir}/")));
    dirs.iter()
        .map(|(spelled, canon)| {
            let mut prefix = String::new();
            let mut followable = true;
            for part in spelled.split('/').filter(|p| !p.is_empty() && *p != ".") {
                if part == ".." && !exists(&crate::path::normalize(&prefix)) {
                    followable = false;
                    break;
                }
                prefix.push('/');
                prefix.push_str(part);
            }
            if followable {
                spelled.clone()
            } else {
                canon.clone()
            }
        })
        .collect()
}

/// `name` as a path: itself if it has a `/`, else the first executable
/// file of that name on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Some(PathBuf::from(name)).filter(|p| p.is_file());
    }
    ::which::which_in(name, std::env::var_os("PATH"), crate::invoke::cwd_or_root()).ok()
}

/// The shared libraries an ELF program loads, at the paths the dynamic
/// loader finds them by (`/lib/x86_64-linux-gnu/libz.so.1`, not the file
/// that link leads to): shipped in a folder the loader is given with
/// `--library-path`, each must sit under that name. The loader itself is
/// left out (see [`interpreter_of`]); a static program has none.
pub fn loaded_libraries(program: &Path) -> Vec<PathBuf> {
    let Some(loader) = loader_of(program) else { return Vec::new() };
    let Ok(out) = Command::new(&loader).arg("--list").arg(program).stdin(Stdio::null()).output() else {
        return Vec::new();
    };
    let mut libs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x…)"; the loader's
        // own line names it by path ("/lib64/ld-linux-x86-64.so.2 => …").
        let Some((name, rest)) = line.split_once("=>") else { continue };
        if name.trim().starts_with('/') {
            continue;
        }
        let path = rest.trim().split(" (").next().unwrap_or("").trim();
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    libs
}

/// The program interpreter an ELF file names (PT_INTERP), as written.
pub fn interpreter_of(program: &Path) -> Option<String> {
    loader_of_bytes(&elf_head(program)?)
}

/// The start of a file, enough for the ELF header, the program headers
/// and the interpreter's path (linkers put them in the first page); the
/// whole file when they lie further in. Reading all of a 35 MB `cc1plus`
/// to find its loader cost a tenth of a cold build's client time.
fn elf_head(program: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(64 * 1024);
    fs::File::open(program).ok()?.take(64 * 1024).read_to_end(&mut head).ok()?;
    if head.len() == 64 * 1024 && !interp_within(&head) {
        return fs::read(program).ok();
    }
    Some(head)
}

/// Whether the program headers and any interpreter path lie within
/// `head` (true for anything that is not such an ELF image).
fn interp_within(head: &[u8]) -> bool {
    use object::read::elf::{FileHeader as _, ProgramHeader as _};
    let Some((header, endian)) = elf64(head) else { return true };
    let Ok(phs) = header.program_headers(endian, head) else { return false };
    phs.iter().all(|ph| ph.p_type(endian) != object::elf::PT_INTERP || ph.interpreter(endian, head).is_ok())
}

/// The program interpreter named in an ELF file's PT_INTERP header.
fn loader_of(program: &Path) -> Option<PathBuf> {
    let bytes = elf_head(program)?;
    fs::canonicalize(loader_of_bytes(&bytes)?).ok()
}

/// The PT_INTERP path of an ELF image, as written.
fn loader_of_bytes(bytes: &[u8]) -> Option<String> {
    use object::read::elf::{FileHeader as _, ProgramHeader as _};
    let (header, endian) = elf64(bytes)?;
    let raw =
        header.program_headers(endian, bytes).ok()?.iter().find_map(|ph| ph.interpreter(endian, bytes).ok()?)?;
    Some(std::str::from_utf8(raw).ok()?.to_string())
}

/// The header of a 64-bit little-endian ELF image (the only kind gg
/// reads); `None` for anything else.
fn elf64(bytes: &[u8]) -> Option<(&object::elf::FileHeader64<object::LittleEndian>, object::LittleEndian)> {
    use object::read::elf::FileHeader as _;
    let header = object::elf::FileHeader64::<object::LittleEndian>::parse(bytes).ok()?;
    Some((header, header.endian().ok()?))
}

/// What the dynamic section of a shared library says about linking
/// against it: its own name and the libraries it needs, with where to
/// look for them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ElfDynamic {
    /// DT_SONAME.
    pub soname: Option<String>,
    /// DT_NEEDED entries, in order.
    pub needed: Vec<String>,
    /// DT_RUNPATH, or DT_RPATH when there is no DT_RUNPATH, split at `:`.
    pub runpath: Vec<String>,
}

/// The dynamic section of a 64-bit little-endian ELF shared object; `None`
/// for anything else (objects, archives, executables without one, scripts).
pub fn elf_dynamic(bytes: &[u8]) -> Option<ElfDynamic> {
    use object::elf::{DT_NEEDED, DT_NULL, DT_RPATH, DT_RUNPATH, DT_SONAME, DT_STRTAB, ET_DYN, PT_LOAD};
    use object::read::elf::{Dyn as _, FileHeader as _, ProgramHeader as _};
    let (header, endian) = elf64(bytes)?;
    if header.e_type(endian) != ET_DYN {
        return None;
    }
    let segments = header.program_headers(endian, bytes).ok()?;
    let dynamic = segments.iter().find_map(|ph| ph.dynamic(endian, bytes).ok()?)?;
    let dynamic = &dynamic[..dynamic.iter().position(|d| d.tag32(endian) == Some(DT_NULL)).unwrap_or(dynamic.len())];
    // The string table's address, turned into a file offset through the
    // loaded segment that holds it.
    let strtab = dynamic.iter().find(|d| d.tag32(endian) == Some(DT_STRTAB))?.d_val(endian);
    let base = segments.iter().filter(|ph| ph.p_type(endian) == PT_LOAD).find_map(|ph| {
        let (vaddr, size) = (ph.p_vaddr(endian), ph.p_filesz(endian));
        (vaddr <= strtab && strtab < vaddr.saturating_add(size))
            .then(|| ph.p_offset(endian).saturating_add(strtab - vaddr))
    })?;
    let strings = object::read::StringTable::new(bytes, base, bytes.len() as u64);
    let string = |d: &object::elf::Dyn64<object::LittleEndian>| -> Option<String> {
        Some(String::from_utf8_lossy(d.string(endian, strings).ok()?).into_owned())
    };
    let mut out = ElfDynamic::default();
    let (mut rpath, mut runpath) = (None, None);
    for d in dynamic {
        match d.tag32(endian) {
            Some(DT_NEEDED) => out.needed.push(string(d)?),
            Some(DT_SONAME) => out.soname = Some(string(d)?),
            Some(DT_RPATH) => rpath = Some(string(d)?),
            Some(DT_RUNPATH) => runpath = Some(string(d)?),
            _ => {}
        }
    }
    if let Some(path) = runpath.or(rpath) {
        out.runpath = path.split(':').filter(|d| !d.is_empty()).map(str::to_string).collect();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_folders_keep_their_spelling_only_where_a_sandbox_can_follow_it() {
        let h = Name::of_value(b"");
        let files =
            vec![("/usr/bin/clang".to_string(), h), ("/usr/lib/gcc/x86_64-linux-gnu/12/crtbegin.o".to_string(), h)];
        let dirs = vec![
            (
                "/usr/bin/../lib/gcc/x86_64-linux-gnu/12/../../../../include/c++/12".to_string(),
                "/usr/include/c++/12".to_string(),
            ),
            ("/opt/x/bin/../include".to_string(), "/opt/x/include".to_string()),
            ("/usr/include".to_string(), "/usr/include".to_string()),
        ];
        assert_eq!(
            spelled_dirs(&dirs, &files),
            ["/usr/bin/../lib/gcc/x86_64-linux-gnu/12/../../../../include/c++/12", "/opt/x/include", "/usr/include"]
        );
    }

    #[test]
    fn the_dynamic_section_names_the_soname_and_the_needed_libraries() {
        let libs = loaded_libraries(&fs::canonicalize("/bin/sh").unwrap());
        let libc = libs.iter().find(|p| p.to_string_lossy().contains("libc.so")).expect("sh links libc");
        let d = elf_dynamic(&fs::read(libc).unwrap()).expect("libc is a shared object");
        assert_eq!(d.soname.as_deref(), Some("libc.so.6"));
        assert!(d.needed.iter().any(|n| n.starts_with("ld-linux")), "{d:?}");
        assert_eq!(elf_dynamic(b"/* GNU ld script */ GROUP ( /lib/libc.so.6 )"), None);
    }

    #[test]
    fn loaded_libraries_are_named_as_the_loader_finds_them() {
        let ld = fs::canonicalize(which("ld").expect("binutils is installed")).unwrap();
        let libs = loaded_libraries(&ld);
        // libbfd's soname is the file itself; libz.so.1 is a link to
        // libz.so.1.2.x, and the loader looks for it by `libz.so.1`.
        assert!(libs.iter().any(|p| p.file_name().is_some_and(|f| f == "libz.so.1")), "{libs:?}");
        assert!(!libs.iter().any(|p| p.to_string_lossy().contains("ld-linux")), "{libs:?}");
        assert!(interpreter_of(&ld).is_some_and(|i| i.starts_with('/') && i.contains("ld-linux")));
    }

    #[test]
    fn gcc_is_discovered_with_its_compiler_proper_assembler_and_libraries() {
        let Some(gcc) = which("gcc") else { panic!("gcc is required for the tests") };
        let c = discover_uncached(&gcc, Half::C, None).unwrap();
        let cxx = discover_uncached(&gcc, Half::Cxx, None).unwrap();
        for (t, mine, other) in [(&c, "/cc1", "/cc1plus"), (&cxx, "/cc1plus", "/cc1")] {
            assert_eq!(t.family, Family::Gcc);
            let paths: Vec<&str> = t.files.iter().map(|(p, _)| p.as_str()).collect();
            assert!(paths.iter().any(|p| p.ends_with(mine)), "{paths:?}");
            assert!(!paths.iter().any(|p| p.ends_with(other)), "{:?} carries {other}: {paths:?}", t.half);
            assert!(t.stages.iter().any(|(n, _)| mine.ends_with(n.as_str())), "{:?}", t.stages);
            assert!(paths.iter().any(|p| p.ends_with("/as") || p.contains("-as")), "{paths:?}");
            assert!(paths.iter().any(|p| p.contains("libc.so")), "{paths:?}");
            assert!(paths.iter().any(|p| p.contains("ld-linux")), "{paths:?}");
            assert!(t.includes.iter().any(|d| d == "/usr/include"), "{:?}", t.includes);
        }
        assert!(cxx.includes.len() > c.includes.len(), "C++ adds libstdc++'s folders");
        assert!(!c.includes.iter().any(|d| d.contains("c++")), "{:?}", c.includes);
        assert_ne!(c.id, cxx.id, "each half is its own compiler in cache keys");
    }

    #[test]
    fn clang_is_told_from_gcc_by_its_probe_and_carries_no_compiler_proper() {
        let clang = which("clang").expect("clang is required for the tests");
        let t = discover_uncached(&clang, Half::Cxx, None).unwrap();
        assert_eq!(t.family, Family::Clang);
        assert!(!t.stages.iter().any(|(n, _)| n.starts_with("cc1")), "{:?}", t.stages);
        assert!(t.includes.iter().any(|d| d.contains("c++")), "{:?}", t.includes);
        assert_eq!(discover_uncached(&which("gcc").unwrap(), Half::C, None).unwrap().family, Family::Gcc);
    }

    #[test]
    fn a_program_that_lists_no_header_search_is_no_compiler() {
        let err = discover_uncached(Path::new("/bin/true"), Half::C, None).unwrap_err();
        assert!(format!("{err:#}").contains("listed no header search"), "{err:#}");
    }

    #[test]
    fn every_library_needed_is_shipped_under_that_name_in_a_library_folder() {
        let c = discover_uncached(&which("gcc").unwrap(), Half::C, None).unwrap();
        let cxx = discover_uncached(&which("g++").unwrap(), Half::Cxx, None).unwrap();
        for t in [c, cxx] {
            every_library_needed_is_shipped(&t);
        }
    }

    fn every_library_needed_is_shipped(t: &Toolchain) {
        let paths: BTreeSet<&Path> = t.files.iter().map(|(p, _)| Path::new(p.as_str())).collect();
        // The folders the thunk's loader searches (see `thunkgen`): those of
        // the shipped `.so` files, the loader's own left out.
        let is_lib = |p: &Path| {
            p.file_name().map(|f| f.to_string_lossy()).is_some_and(|f| f.contains(".so") && !f.starts_with("ld-linux"))
        };
        let dirs: BTreeSet<&Path> = paths.iter().filter(|p| is_lib(p)).filter_map(|p| p.parent()).collect();
        let mut checked = 0;
        for p in &paths {
            let Some(d) = fs::read(p).ok().and_then(|b| elf_dynamic(&b)) else { continue };
            for needed in d.needed.iter().filter(|n| !n.starts_with("ld-linux")) {
                assert!(
                    dirs.iter().any(|dir| paths.contains(dir.join(needed).as_path())),
                    "`{needed}` (needed by `{}`) is not shipped under that name in any of {dirs:?}",
                    p.display()
                );
                checked += 1;
            }
        }
        assert!(checked > 0, "no shipped file names a library: {paths:?}");
    }

    #[test]
    fn a_shell_script_is_a_script_and_the_real_compilers_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("cc");
        fs::write(&script, "#!/bin/sh\nexec gcc \"$@\"\n").unwrap();
        assert!(is_script(&script));
        for compiler in ["gcc", "clang"] {
            assert!(!is_script(&which(compiler).unwrap()), "{compiler} is an ELF program (through its links)");
        }
        assert!(!is_script(&dir.path().join("missing")), "a missing driver is left to discovery to report");
    }

    #[test]
    fn discovery_is_cached_per_driver() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let gcc = which("gcc").unwrap();
        let a = discover(&store, &gcc, Half::C).unwrap();
        assert_eq!(fs::read_dir(store.root().join("toolchains")).unwrap().count(), 1);
        assert_eq!(discover(&store, &gcc, Half::C).unwrap(), a);
        let b = discover(&store, &gcc, Half::Cxx).unwrap();
        assert_eq!((b.half, a.half), (Half::Cxx, Half::C));
        assert_eq!(fs::read_dir(store.root().join("toolchains")).unwrap().count(), 2, "one record per half");
    }

    #[test]
    fn compiles_starting_together_on_a_fresh_store_discover_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let gcc = which("gcc").unwrap();
        let found: Vec<Toolchain> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..4).map(|_| s.spawn(|| discover(&store, &gcc, Half::C).unwrap())).collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert!(found.windows(2).all(|w| w[0] == w[1]), "every caller gets the same toolchain");
        assert_eq!(fs::read_dir(store.root().join("toolchains")).unwrap().count(), 1, "one record, no stray file");
    }

    #[test]
    fn gg_carries_a_static_launcher_built_with_it() {
        assert!(!BUILT_LAUNCHER.is_empty(), "build.rs links the launcher statically (libc6-dev has libc.a)");
        assert!(loader_of_bytes(BUILT_LAUNCHER).is_none(), "the launcher must not need a loader");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let gcc = which("gcc").unwrap();
        let name = store_launcher(&store, &gcc).expect("stored");
        assert_eq!(store.get(&name).unwrap(), BUILT_LAUNCHER);
    }

    #[test]
    fn the_static_launcher_is_reproducible() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let gcc = which("gcc").unwrap();
        let a = build_launcher(&store, &gcc).expect("gcc can link statically (libc6-dev)");
        assert_eq!(build_launcher(&store, &gcc), Some(a), "two builds must give the same bytes");
        let bytes = store.get(&a).unwrap();
        assert!(loader_of_bytes(&bytes).is_none(), "the launcher must not need a loader");
    }

    #[test]
    fn the_loader_is_read_from_the_elf_header() {
        let sh = fs::canonicalize("/bin/sh").unwrap();
        let loader = loader_of(&sh).expect("/bin/sh is dynamically linked");
        assert!(loader.to_string_lossy().contains("ld-linux"), "{}", loader.display());
        assert_eq!(loader_of(Path::new("/etc/hostname")), None);
    }
}
