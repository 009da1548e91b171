//! The EXIF orientation tag, found the way Pillow's `Image.getexif()` finds it: tag 0x0112 of the
//! first IFD of the EXIF block (a small TIFF structure), else a `tiff:Orientation` in the XMP
//! packet. Only this one tag is read, so a hand-rolled walk beats a dependency.

/// Tag number of `Orientation` in a TIFF IFD.
const ORIENTATION_TAG: u16 = 0x0112;

/// The orientation (1–8) recorded in an EXIF block, which may start with the `Exif\0\0` prefix of
/// a JPEG APP1 segment or directly with the TIFF header (a PNG `eXIf` chunk). `None` when absent
/// or malformed: a broken tag is ignored, as Pillow does, rather than failing the image.
pub fn exif_orientation(exif: &[u8]) -> Option<u16> {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    let order = match tiff.get(0..4)? {
        b"II*\0" => ByteOrder::Little,
        b"MM\0*" => ByteOrder::Big,
        _ => return None,
    };
    let ifd = order.u32(tiff, 4)? as usize;
    let count = usize::from(order.u16(tiff, ifd)?);
    (0..count).find_map(|i| {
        let entry = ifd.checked_add(2 + 12 * i)?;
        (order.u16(tiff, entry)? == ORIENTATION_TAG).then(|| entry_value(order, tiff, entry))?
    })
}

/// The value of a one-element integer entry: `type` at +2, `count` at +4, the value inline at +8.
fn entry_value(order: ByteOrder, tiff: &[u8], entry: usize) -> Option<u16> {
    let value = match order.u16(tiff, entry + 2)? {
        1 | 7 => u16::from(*tiff.get(entry + 8)?), // BYTE, UNDEFINED
        3 | 8 => order.u16(tiff, entry + 8)?,      // SHORT (the standard), SSHORT
        4 | 9 => u16::try_from(order.u32(tiff, entry + 8)?).ok()?, // LONG, SLONG
        _ => return None,
    };
    Some(value)
}

/// `tiff:Orientation="6"` or `<tiff:Orientation>6</tiff:Orientation>` in an XMP packet; like
/// Pillow, the first match wins and only its first digit counts.
pub fn xmp_orientation(xmp: &[u8]) -> Option<u16> {
    const KEY: &[u8] = b"tiff:Orientation";
    let mut rest = xmp;
    while let Some(at) = find(rest, KEY) {
        rest = &rest[at + KEY.len()..];
        let digit = match rest {
            [b'=', b'"', d, ..] | [b'>', d, ..] => *d,
            _ => continue,
        };
        if digit.is_ascii_digit() {
            return Some(u16::from(digit - b'0'));
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[derive(Clone, Copy)]
enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let bytes: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            ByteOrder::Little => u16::from_le_bytes(bytes),
            ByteOrder::Big => u16::from_be_bytes(bytes),
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            ByteOrder::Little => u32::from_le_bytes(bytes),
            ByteOrder::Big => u32::from_be_bytes(bytes),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TIFF header and one IFD whose entries are `(tag, type, value)`, encoded by hand.
    fn tiff(big_endian: bool, entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut b = if big_endian {
            b"MM\0*".to_vec()
        } else {
            b"II*\0".to_vec()
        };
        b.extend_from_slice(&u32b(8));
        b.extend_from_slice(&u16b(entries.len() as u16));
        for &(tag, kind, value) in entries {
            b.extend_from_slice(&u16b(tag));
            b.extend_from_slice(&u16b(kind));
            b.extend_from_slice(&u32b(1));
            match kind {
                3 => b.extend_from_slice(&[u16b(value as u16), [0, 0]].concat()),
                _ => b.extend_from_slice(&u32b(value)),
            }
        }
        b.extend_from_slice(&u32b(0)); // no next IFD
        b
    }

    #[test]
    fn reads_orientation_in_both_byte_orders() {
        for big in [false, true] {
            for o in 1..=8 {
                let t = tiff(
                    big,
                    &[(0x010F, 3, 7), (ORIENTATION_TAG, 3, o), (0x0110, 4, 9)],
                );
                assert_eq!(exif_orientation(&t), Some(o as u16));
                let app1 = [b"Exif\0\0".as_slice(), &t].concat();
                assert_eq!(exif_orientation(&app1), Some(o as u16));
            }
        }
    }

    #[test]
    fn accepts_a_long_orientation() {
        assert_eq!(
            exif_orientation(&tiff(true, &[(ORIENTATION_TAG, 4, 6)])),
            Some(6)
        );
    }

    #[test]
    fn missing_or_malformed_is_none() {
        assert_eq!(exif_orientation(&tiff(false, &[(0x010F, 3, 6)])), None);
        assert_eq!(exif_orientation(b"Exif\0\0II*\0"), None);
        assert_eq!(exif_orientation(b"garbage"), None);
        let mut t = tiff(false, &[(ORIENTATION_TAG, 3, 6)]);
        t[4] = 0xF0; // IFD offset beyond the end
        assert_eq!(exif_orientation(&t), None);
        let t = tiff(false, &[(ORIENTATION_TAG, 3, 6)]);
        assert_eq!(exif_orientation(&t[..12]), None); // entry cut short
    }

    #[test]
    fn reads_xmp_attribute_and_element_forms() {
        assert_eq!(xmp_orientation(br#"<x tiff:Orientation="6"/>"#), Some(6));
        assert_eq!(
            xmp_orientation(b"<tiff:Orientation>3</tiff:Orientation>"),
            Some(3)
        );
        assert_eq!(
            xmp_orientation(br#"tiff:OrientationX tiff:Orientation="8""#),
            Some(8)
        );
        assert_eq!(xmp_orientation(b"<x/>"), None);
    }
}
