//! Bounding backend calls in time.

use std::future::Future;
use std::time::Duration;

use crate::BackendError;

/// Runs `fut` for at most `after`; if it has not finished, drops it and returns
/// [`BackendError::Timeout`]. The future's own error passes through unchanged.
///
/// Needs a tokio runtime with the time driver enabled.
pub async fn with_timeout<T, F>(
    backend: &'static str,
    after: Duration,
    fut: F,
) -> Result<T, BackendError>
where
    F: Future<Output = Result<T, BackendError>>,
{
    match tokio::time::timeout(after, fut).await {
        Ok(result) => result,
        Err(_elapsed) => Err(BackendError::Timeout { backend, after }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slow_future_times_out() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<u8, BackendError>(1)
        };
        let got = with_timeout("slow", Duration::from_secs(2), slow).await;
        assert_eq!(
            got,
            Err(BackendError::Timeout {
                backend: "slow",
                after: Duration::from_secs(2)
            })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn fast_future_passes_through() {
        let ok = with_timeout("fast", Duration::from_secs(2), async { Ok::<u8, _>(7) }).await;
        assert_eq!(ok, Ok(7));
        let err = with_timeout("fast", Duration::from_secs(2), async {
            Err::<u8, _>(BackendError::Rejected {
                backend: "fast",
                cause: "no".into(),
            })
        })
        .await;
        assert_eq!(err.map_err(|e| e.kind()), Err("rejected"));
    }
}
