//! Progress bars for long CLI work (indicatif): backups, restores, label
//! sheets, commissioning. They draw on stderr only when it is a terminal,
//! so scripts, pipes and logs see nothing of them.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `total` bytes (a restore), or a byte counter with a rate
/// when the total is not known (a backup streaming in).
pub fn bytes(total: Option<u64>, message: &'static str) -> ProgressBar {
    let (bar, template) = match total {
        Some(n) => (ProgressBar::new(n), "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}"),
        None => (ProgressBar::no_length(), "{spinner} {msg} {bytes} {binary_bytes_per_sec} {elapsed}"),
    };
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.set_message(message);
    bar
}

/// A bar over `total` things, e.g. label sheets or commissioning batches.
pub fn count(total: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(message);
    bar
}
