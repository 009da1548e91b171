//! A tiny baseline JPEG writer for tests: grayscale, one flat 8×8 block per DC value (no AC
//! coefficients), so a test can draw a known pattern and craft headers around it by hand.

/// A `width`×`height` gray JPEG (both multiples of 8) whose blocks, in raster order, have the
/// gray levels `levels`; `app1` is inserted as an APP1 segment when given (e.g. `Exif\0\0…`).
pub fn gray_blocks(width: u16, height: u16, levels: &[u8], app1: Option<&[u8]>) -> Vec<u8> {
    assert_eq!(
        usize::from(width / 8) * usize::from(height / 8),
        levels.len()
    );
    let mut out = vec![0xFF, 0xD8];
    if let Some(payload) = app1 {
        segment(&mut out, 0xE1, payload);
    }
    segment(&mut out, 0xDB, &[[0u8].as_slice(), &[1; 64]].concat()); // all-ones quantisation
    let [h1, h0] = height.to_be_bytes();
    let [w1, w0] = width.to_be_bytes();
    segment(&mut out, 0xC0, &[8, h1, h0, w1, w0, 1, 1, 0x11, 0]);
    // DC table: categories 0..=11, each a 4-bit code equal to its number.
    let mut dc = vec![0x00, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    dc.extend(0..12u8);
    segment(&mut out, 0xC4, &dc);
    // AC table: only end-of-block, code "0".
    segment(
        &mut out,
        0xC4,
        &[0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00],
    );
    segment(&mut out, 0xDA, &[1, 1, 0x00, 0, 63, 0]);
    out.extend(scan(levels));
    out.extend([0xFF, 0xD9]);
    out
}

fn segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend([0xFF, marker]);
    out.extend(((payload.len() + 2) as u16).to_be_bytes());
    out.extend(payload);
}

/// Entropy-coded data: per block the DC difference (category code, then its bits) and EOB.
fn scan(levels: &[u8]) -> Vec<u8> {
    let mut bits = Bits::default();
    let mut previous = 0i32;
    for &level in levels {
        let dc = (i32::from(level) - 128) * 8; // a flat block's DC is 8 × (level − 128)
        let diff = dc - previous;
        previous = dc;
        let category = 32 - diff.unsigned_abs().leading_zeros();
        bits.push(category, 4);
        let raw = if diff < 0 {
            diff + (1 << category) - 1
        } else {
            diff
        };
        bits.push(raw as u32, category);
        bits.push(0, 1); // end of block
    }
    bits.finish()
}

#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    current: u32,
    count: u32,
}

impl Bits {
    fn push(&mut self, value: u32, n: u32) {
        for i in (0..n).rev() {
            self.current = (self.current << 1) | ((value >> i) & 1);
            self.count += 1;
            if self.count == 8 {
                self.emit();
            }
        }
    }

    fn emit(&mut self) {
        let byte = self.current as u8;
        self.bytes.push(byte);
        if byte == 0xFF {
            self.bytes.push(0); // byte stuffing
        }
        self.current = 0;
        self.count = 0;
    }

    /// Pads the last byte with ones, as the standard asks.
    fn finish(mut self) -> Vec<u8> {
        while self.count != 0 {
            self.push(1, 1);
        }
        self.bytes
    }
}
