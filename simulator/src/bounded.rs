//! Reading compressed input from the network without letting it decide how much memory it
//! takes.

use std::io::Read;

/// Why [`read_at_most`] stopped.
#[derive(Debug)]
pub(crate) enum BoundedReadError {
    /// The reader failed (e.g. the data is not in the format its decoder reads).
    Io(std::io::Error),
    /// There is more than the limit.
    TooLarge,
}

/// Everything `reader` yields, if that is at most `limit` bytes; it stops reading one byte
/// past the limit, so a decompression bomb costs no more than the limit.
pub(crate) fn read_at_most(reader: impl Read, limit: u64) -> Result<Vec<u8>, BoundedReadError> {
    let mut read = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut read)
        .map_err(BoundedReadError::Io)?;
    if read.len() as u64 > limit {
        return Err(BoundedReadError::TooLarge);
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_more() {
        assert_eq!(read_at_most(&b"abc"[..], 3).unwrap(), b"abc");
        assert!(matches!(
            read_at_most(&b"abcd"[..], 3),
            Err(BoundedReadError::TooLarge)
        ));
        assert_eq!(read_at_most(&b""[..], 0).unwrap(), b"");
    }
}
