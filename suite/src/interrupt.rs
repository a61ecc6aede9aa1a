//! Ctrl-C for the commands that serve until stopped (`sp`, `serve`).

/// A Ctrl-C listener that is in place from the moment it is made.
///
/// `tokio::signal::ctrl_c()` installs its handler only when first polled: a Ctrl-C between a
/// command printing its URLs and that poll killed the process without its clean shutdown.
pub struct CtrlC {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
    #[cfg(windows)]
    signal: tokio::signal::windows::CtrlC,
}

impl CtrlC {
    /// Starts listening; every Ctrl-C from now on is delivered to [`CtrlC::pressed`].
    pub fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        #[cfg(windows)]
        let signal = tokio::signal::windows::ctrl_c()?;
        Ok(Self { signal })
    }

    /// Completes at the next Ctrl-C, or at once for one that came since the last call.
    pub async fn pressed(&mut self) {
        self.signal.recv().await;
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_ctrl_c_that_comes_before_the_first_poll_is_received() {
        let mut ctrl_c = CtrlC::listen().unwrap();
        let sent = std::process::Command::new("kill")
            .args(["-INT", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(std::time::Duration::from_secs(10), ctrl_c.pressed())
            .await
            .expect("the Ctrl-C sent before the first poll completes the listener");
    }
}
