//! What the toolbar knows of a handler that panicked.

use serde::{Deserialize, Serialize};

/// A panic of the application while it handled a request: its message, where it happened and
/// the application's frames of the stack that led there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PanicReport {
    /// The panic's message, e.g. `index out of bounds: …`.
    pub message: String,
    /// Where it panicked, as `file:line:column`, when the panic hook saw it.
    pub location: Option<String>,
    /// The application's frames, innermost first (the runtime's, the standard library's and the
    /// toolbar's own left out).
    pub frames: Vec<StackFrame>,
}

/// One frame of a panic's stack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StackFrame {
    /// The function, demangled.
    pub function: String,
    /// The source file, when debug information tells it.
    pub file: Option<String>,
    /// The line in `file`.
    pub line: Option<u32>,
}

impl PanicReport {
    /// A report of a panic with `message`; fill the public fields.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ..Self::default()
        }
    }

    /// The frames as text, one `function at file:line` per line, the way OpenTelemetry's
    /// `exception.stacktrace` takes them.
    pub fn stacktrace(&self) -> String {
        let mut out = String::new();
        for frame in &self.frames {
            out.push_str(&frame.to_string());
            out.push('\n');
        }
        out
    }
}

impl StackFrame {
    /// A frame of `function`; fill the public fields.
    pub fn new(function: impl Into<String>) -> Self {
        Self {
            function: function.into(),
            ..Self::default()
        }
    }
}

impl std::fmt::Display for StackFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.function)?;
        if let Some(file) = &self.file {
            write!(f, " at {file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
        }
        Ok(())
    }
}
