//! Bounds-checked reading of option payloads.

use crate::proto::MAX_STRING_LEN;

/// A cursor over an option payload; every read fails (None) instead of running past the end.
pub(crate) struct Payload<'a> {
    data: &'a [u8],
}

impl<'a> Payload<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Payload { data }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.data.len() {
            return None;
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Some(head)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A 32-bit length followed by that many bytes of UTF-8, at most [`MAX_STRING_LEN`] long.
    pub(crate) fn string(&mut self) -> Option<String> {
        let len = self.u32()?;
        if len > MAX_STRING_LEN {
            return None;
        }
        let bytes = self.take(len as usize)?;
        String::from_utf8(bytes.to_vec()).ok()
    }

    /// Succeeds only when every byte was consumed.
    pub(crate) fn finish(&self) -> Option<()> {
        self.data.is_empty().then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_rejects_truncation() {
        let mut data = vec![0, 0, 0, 3, b'a', b'b', b'c', 0, 7];
        let mut p = Payload::new(&data);
        assert_eq!(p.string().as_deref(), Some("abc"));
        assert_eq!(p.u16(), Some(7));
        assert!(p.finish().is_some());
        data.pop();
        let mut p = Payload::new(&data);
        assert_eq!(p.string().as_deref(), Some("abc"));
        assert_eq!(p.u16(), None);
    }

    #[test]
    fn rejects_lying_and_oversized_lengths() {
        let data = [0xff, 0xff, 0xff, 0xff, b'x'];
        assert_eq!(Payload::new(&data).string(), None);
        let mut long = (MAX_STRING_LEN + 1).to_be_bytes().to_vec();
        long.resize(4 + MAX_STRING_LEN as usize + 1, b'a');
        assert_eq!(Payload::new(&long).string(), None);
        assert_eq!(
            Payload::new(&[0, 0, 0, 1, 0xff]).string(),
            None,
            "not UTF-8"
        );
        assert!(Payload::new(&[1]).finish().is_none());
    }
}
