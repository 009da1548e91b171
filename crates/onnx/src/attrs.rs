//! Typed access to a node's attributes that remembers which ones were read, so a translator can
//! reject every attribute it did not understand instead of silently ignoring it.

use crate::error::{LoadError, bail};
use crate::proto::attribute_proto::AttributeType;
use crate::proto::{AttributeProto, TensorProto};

/// A node's attributes. Read with the typed getters, then call [`Attrs::finish`].
pub struct Attrs<'a> {
    list: &'a [AttributeProto],
    used: Vec<bool>,
}

impl<'a> Attrs<'a> {
    /// Errors on unnamed or duplicated attributes, and on references to a parent function's
    /// attributes (only legal inside functions, which litecnn does not load).
    pub fn new(list: &'a [AttributeProto]) -> Result<Attrs<'a>, LoadError> {
        for (i, a) in list.iter().enumerate() {
            let name = a.name.as_deref().unwrap_or("");
            if name.is_empty() {
                bail!(Malformed, "attribute #{i} has no name");
            }
            if list[..i].iter().any(|b| b.name.as_deref() == Some(name)) {
                bail!(Malformed, "attribute \"{name}\" is given twice");
            }
            if a.ref_attr_name.as_deref().is_some_and(|r| !r.is_empty()) {
                bail!(
                    Malformed,
                    "attribute \"{name}\" refers to a function attribute"
                );
            }
        }
        Ok(Attrs {
            list,
            used: vec![false; list.len()],
        })
    }

    /// Fails on the first attribute no getter asked for.
    pub fn finish(self) -> Result<(), LoadError> {
        match self.used.iter().position(|u| !u) {
            Some(i) => bail!(
                UnsupportedAttribute,
                "unsupported attribute \"{}\"",
                self.list[i].name.as_deref().unwrap_or("")
            ),
            None => Ok(()),
        }
    }

    /// Accepts an attribute whose value cannot change an inference result (e.g. a training
    /// momentum or a random seed).
    pub fn ignore(&mut self, name: &str) {
        let _ = self.take(name);
    }

    fn take(&mut self, name: &str) -> Option<&'a AttributeProto> {
        let i = self
            .list
            .iter()
            .position(|a| a.name.as_deref() == Some(name))?;
        self.used[i] = true;
        Some(&self.list[i])
    }

    /// Takes `name` and checks it has type `ty`. Old exporters leave `type` unset; then the
    /// value field decides (`present`).
    fn typed(
        &mut self,
        name: &str,
        ty: AttributeType,
        present: fn(&AttributeProto) -> bool,
    ) -> Result<Option<&'a AttributeProto>, LoadError> {
        let Some(a) = self.take(name) else {
            return Ok(None);
        };
        let code = a.r#type.unwrap_or(0);
        if code == ty as i32 || (code == AttributeType::Undefined as i32 && present(a)) {
            return Ok(Some(a));
        }
        let got = AttributeType::try_from(code).map_or("an unknown type", |t| t.as_str_name());
        bail!(
            Malformed,
            "attribute \"{name}\" must be {}, got {got}",
            ty.as_str_name()
        )
    }

    pub fn int(&mut self, name: &str) -> Result<Option<i64>, LoadError> {
        let a = self.typed(name, AttributeType::Int, |a| a.i.is_some())?;
        Ok(a.map(|a| a.i.unwrap_or(0)))
    }

    pub fn int_or(&mut self, name: &str, default: i64) -> Result<i64, LoadError> {
        Ok(self.int(name)?.unwrap_or(default))
    }

    /// A 0/1 flag; any other value is malformed.
    pub fn bool_or(&mut self, name: &str, default: bool) -> Result<bool, LoadError> {
        match self.int(name)? {
            None => Ok(default),
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            Some(v) => bail!(Malformed, "attribute \"{name}\" must be 0 or 1, got {v}"),
        }
    }

    pub fn float(&mut self, name: &str) -> Result<Option<f32>, LoadError> {
        let a = self.typed(name, AttributeType::Float, |a| a.f.is_some())?;
        Ok(a.map(|a| a.f.unwrap_or(0.0)))
    }

    pub fn float_or(&mut self, name: &str, default: f32) -> Result<f32, LoadError> {
        Ok(self.float(name)?.unwrap_or(default))
    }

    pub fn ints(&mut self, name: &str) -> Result<Option<Vec<i64>>, LoadError> {
        let a = self.typed(name, AttributeType::Ints, |a| !a.ints.is_empty())?;
        Ok(a.map(|a| a.ints.clone()))
    }

    /// INTS whose elements must all be non-negative (sizes, strides, permutations).
    pub fn usizes(&mut self, name: &str) -> Result<Option<Vec<usize>>, LoadError> {
        let Some(v) = self.ints(name)? else {
            return Ok(None);
        };
        match v.iter().map(|&x| usize::try_from(x)).collect() {
            Ok(u) => Ok(Some(u)),
            Err(_) => bail!(
                Malformed,
                "attribute \"{name}\" must not be negative, got {v:?}"
            ),
        }
    }

    pub fn floats(&mut self, name: &str) -> Result<Option<Vec<f32>>, LoadError> {
        let a = self.typed(name, AttributeType::Floats, |a| !a.floats.is_empty())?;
        Ok(a.map(|a| a.floats.clone()))
    }

    pub fn string(&mut self, name: &str) -> Result<Option<String>, LoadError> {
        let Some(a) = self.typed(name, AttributeType::String, |a| a.s.is_some())? else {
            return Ok(None);
        };
        match String::from_utf8(a.s.clone().unwrap_or_default()) {
            Ok(s) => Ok(Some(s)),
            Err(_) => bail!(Malformed, "attribute \"{name}\" is not valid UTF-8"),
        }
    }

    pub fn tensor(&mut self, name: &str) -> Result<Option<&'a TensorProto>, LoadError> {
        let a = self.typed(name, AttributeType::Tensor, |a| a.t.is_some())?;
        match a {
            None => Ok(None),
            Some(a) => match &a.t {
                Some(t) => Ok(Some(t)),
                None => bail!(Malformed, "attribute \"{name}\" has no tensor value"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{attr_float, attr_int, attr_ints};
    use crate::error::ErrorKind;

    #[test]
    fn unread_attribute_is_reported_by_name() {
        let list = [attr_int("axis", 1), attr_int("foo", 2)];
        let mut a = Attrs::new(&list).unwrap();
        assert_eq!(a.int_or("axis", 0).unwrap(), 1);
        let e = a.finish().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnsupportedAttribute);
        assert_eq!(e.message(), "unsupported attribute \"foo\"");
    }

    #[test]
    fn wrong_type_is_malformed() {
        let list = [attr_float("axis", 1.0)];
        let e = Attrs::new(&list).unwrap().int("axis").unwrap_err();
        assert_eq!(e.message(), "attribute \"axis\" must be INT, got FLOAT");
    }

    #[test]
    fn untyped_attribute_is_read_by_its_value_field() {
        let mut list = [attr_ints("pads", &[1, 1])];
        list[0].r#type = None;
        let mut a = Attrs::new(&list).unwrap();
        assert_eq!(a.usizes("pads").unwrap(), Some(vec![1, 1]));
    }

    #[test]
    fn duplicates_are_malformed() {
        let list = [attr_int("axis", 1), attr_int("axis", 2)];
        assert!(Attrs::new(&list).is_err());
    }
}
