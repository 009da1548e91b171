//! The window attributes shared by Conv and the pools: kernel_shape, strides, dilations, pads
//! and auto_pad, checked for sign and for agreeing spatial ranks.

use litecnn_engine::ir::{AutoPad, Window};

use crate::attrs::Attrs;
use crate::error::{LoadError, bail};

/// Reads the window attributes; `kernel_required` is true for the pools.
pub fn window(a: &mut Attrs, kernel_required: bool) -> Result<Window, LoadError> {
    let kernel_shape = a.usizes("kernel_shape")?;
    if kernel_required && kernel_shape.is_none() {
        bail!(Malformed, "attribute \"kernel_shape\" is required");
    }
    let strides = a.usizes("strides")?.unwrap_or_default();
    let dilations = a.usizes("dilations")?.unwrap_or_default();
    let pads = a.usizes("pads")?.unwrap_or_default();
    let auto_pad = auto_pad(a.string("auto_pad")?.as_deref())?;
    for (name, v) in [
        ("kernel_shape", kernel_shape.as_deref().unwrap_or(&[])),
        ("strides", &strides),
        ("dilations", &dilations),
    ] {
        if v.contains(&0) {
            bail!(
                Malformed,
                "attribute \"{name}\" must be positive, got {v:?}"
            );
        }
    }
    check_ranks(kernel_shape.as_deref(), &strides, &dilations, &pads)?;
    Ok(Window {
        kernel_shape,
        strides,
        dilations,
        pads,
        auto_pad,
    })
}

fn auto_pad(s: Option<&str>) -> Result<AutoPad, LoadError> {
    // Some old exporters write an empty string for the default.
    Ok(match s.unwrap_or("NOTSET") {
        "NOTSET" | "" => AutoPad::NotSet,
        "SAME_UPPER" => AutoPad::SameUpper,
        "SAME_LOWER" => AutoPad::SameLower,
        "VALID" => AutoPad::Valid,
        other => bail!(
            Malformed,
            "attribute \"auto_pad\" has unknown value \"{other}\""
        ),
    })
}

/// Every list that is given must describe the same number of spatial axes.
fn check_ranks(
    kernel: Option<&[usize]>,
    strides: &[usize],
    dilations: &[usize],
    pads: &[usize],
) -> Result<(), LoadError> {
    if !pads.len().is_multiple_of(2) {
        bail!(
            Malformed,
            "attribute \"pads\" must have an even length, got {pads:?}"
        );
    }
    let ranks = [
        ("kernel_shape", kernel.map(<[usize]>::len)),
        ("strides", Some(strides.len()).filter(|&n| n > 0)),
        ("dilations", Some(dilations.len()).filter(|&n| n > 0)),
        ("pads", Some(pads.len() / 2).filter(|&n| n > 0)),
    ];
    let mut given = ranks.iter().filter_map(|(name, r)| r.map(|r| (name, r)));
    if let Some((first, rank)) = given.next()
        && let Some((other, r)) = given.find(|&(_, r)| r != rank)
    {
        bail!(
            Malformed,
            "attributes \"{first}\" and \"{other}\" disagree on the number of spatial axes \
             ({rank} vs {r})"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{attr_ints, attr_string};

    fn read(list: &[crate::proto::AttributeProto]) -> Result<Window, LoadError> {
        window(&mut Attrs::new(list).unwrap(), false)
    }

    #[test]
    fn reads_all_fields() {
        let w = read(&[
            attr_ints("kernel_shape", &[3, 3]),
            attr_ints("strides", &[2, 2]),
            attr_ints("pads", &[1, 1, 1, 1]),
            attr_string("auto_pad", "SAME_LOWER"),
        ])
        .unwrap();
        assert_eq!(w.kernel_shape, Some(vec![3, 3]));
        assert_eq!(w.strides, vec![2, 2]);
        assert!(w.dilations.is_empty());
        assert_eq!(w.pads, vec![1, 1, 1, 1]);
        assert_eq!(w.auto_pad, AutoPad::SameLower);
    }

    #[test]
    fn rejects_inconsistent_or_invalid_lists() {
        let bad = [
            vec![
                attr_ints("kernel_shape", &[3, 3]),
                attr_ints("strides", &[1]),
            ],
            vec![attr_ints("pads", &[1, 1, 1])],
            vec![attr_ints("strides", &[0, 1])],
            vec![attr_ints("pads", &[-1, 0])],
            vec![attr_string("auto_pad", "SAME")],
        ];
        for list in bad {
            assert!(read(&list).is_err(), "{list:?} was accepted");
        }
    }
}
