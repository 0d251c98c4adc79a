//! Attribute paths: where in a configuration, plan or state a diagnostic or a
//! "requires replacement" applies (`tags["env"]`, `data_quality[0].ruleset`).

use std::fmt;

/// One step of an [`AttributePath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// An attribute or nested block name.
    Attr(String),
    /// A map key (or the label of a map-nested block).
    Key(String),
    /// A list or tuple index.
    Index(i64),
}

/// A path from the root of an object to one of its parts.
///
/// ```
/// use terraform_provider_gluepipe::protocol::AttributePath;
/// let p = AttributePath::root("data_quality").index(0).attr("ruleset");
/// assert_eq!(p.to_string(), "data_quality[0].ruleset");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributePath {
    steps: Vec<PathStep>,
}

impl AttributePath {
    /// The empty path: the whole object.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A top-level attribute or block.
    pub fn root(name: impl Into<String>) -> Self {
        Self::empty().attr(name)
    }

    pub fn attr(mut self, name: impl Into<String>) -> Self {
        self.steps.push(PathStep::Attr(name.into()));
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.steps.push(PathStep::Key(key.into()));
        self
    }

    pub fn index(mut self, index: usize) -> Self {
        self.steps
            .push(PathStep::Index(i64::try_from(index).unwrap_or(i64::MAX)));
        self
    }

    /// Appends a step.
    pub fn push(mut self, step: PathStep) -> Self {
        self.steps.push(step);
        self
    }

    pub fn steps(&self) -> &[PathStep] {
        &self.steps
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn from_steps(steps: Vec<PathStep>) -> Self {
        Self { steps }
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Attr(name) if i == 0 => write!(f, "{name}")?,
                PathStep::Attr(name) => write!(f, ".{name}")?,
                PathStep::Key(key) => write!(f, "[{key:?}]")?,
                PathStep::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let cases = [
            (AttributePath::empty(), ""),
            (AttributePath::root("name"), "name"),
            (AttributePath::root("tags").key("env"), "tags[\"env\"]"),
            (
                AttributePath::root("data_quality").index(0).attr("ruleset"),
                "data_quality[0].ruleset",
            ),
        ];
        for (path, text) in cases {
            assert_eq!(path.to_string(), text);
        }
    }
}
