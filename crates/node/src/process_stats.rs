//! Reads the node process's resources from `/proc/self` for the
//! `process_*` metrics. Written by hand because it is a few fields of
//! three files, and the Prometheus crate we use has no process collector.
//! Linux only: elsewhere every reader answers `None` and the series stay 0.

use veritrace_metrics::ProcessSample;

/// One reading, or `None` when `/proc` cannot be read or parsed.
pub fn sample() -> Option<ProcessSample> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let page = rustix::param::page_size() as u64;
    // Fields after the command name, which may hold spaces: from state on.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state); field n is f[n - 3].
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let cpu_ticks = field(14)? + field(15)?;
    let boot = boot_time()?;
    Some(ProcessSample {
        cpu_seconds: cpu_ticks as f64 / ticks,
        threads: field(20)?,
        start_time_seconds: boot + (field(22)? as f64 / ticks) as u64,
        virtual_memory_bytes: field(23)?,
        resident_memory_bytes: field(24)?.saturating_mul(page),
        open_fds: std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(0),
        max_fds: max_open_files().unwrap_or(0),
    })
}

/// `btime` of `/proc/stat`: the boot time, seconds since the epoch.
fn boot_time() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// The soft limit of "Max open files" in `/proc/self/limits`.
fn max_open_files() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_process_reads_itself() {
        let s = super::sample().expect("/proc/self on Linux");
        assert!(s.resident_memory_bytes > 1024 * 1024, "{s:?}");
        assert!(s.virtual_memory_bytes >= s.resident_memory_bytes, "{s:?}");
        assert!(s.threads >= 1 && s.open_fds >= 3 && s.max_fds >= s.open_fds, "{s:?}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
        assert!(s.start_time_seconds <= now + 1 && s.start_time_seconds + 86_400 * 365 > now, "{s:?}");
        // Some work moves the CPU counter.
        let before = s.cpu_seconds;
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = super::sample().expect("second reading").cpu_seconds;
        assert!(after > before, "{before} -> {after}");
    }
}
