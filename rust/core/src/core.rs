//! The published crate's module paths (`operonx::core::tracing::Tracer`,
//! `operonx::core::middleware::Middleware`, ...), so that programs importing from them compile
//! unchanged. Each module re-exports items defined elsewhere in this crate; nothing is defined
//! here.
//!
//! ```
//! use operonx::core::engine::{Operon, OperonBuilder};
//! use operonx::core::exceptions::OperonError;
//! use operonx::core::middleware::{Middleware, MiddlewareContext};
//! use operonx::core::tracing::{LocalTracer, TraceData, TraceFilter, TraceNode, TraceSummary, Tracer};
//! ```

/// The engine, its builder and its handle.
pub mod engine {
    pub use crate::engine::{Operon, OperonBuilder};
    pub use crate::handle::FrameEvent;
    #[cfg(feature = "tokio")]
    pub use crate::handle::{CollectMode, ExecutionHandle};
}

/// The error types.
pub mod exceptions {
    pub use crate::error::{OpError, OperonError, Result};
    /// The graph document's schema version this engine reads.
    #[doc = include_str!("../doc/core/SUPPORTED_SCHEMA_VERSION.md")]
    pub const SUPPORTED_SCHEMA_VERSION: &str = crate::graph::schema::SCHEMA_VERSION;
}

/// Hooks around runs.
#[cfg(feature = "tokio")]
pub mod middleware {
    pub use crate::middleware::{Middleware, MiddlewareContext};
}

/// Tracers and the traces they receive.
pub mod tracing {
    pub use crate::trace::{LocalTracer, TraceData, TraceFilter, TraceNode, TraceSummary, Tracer};

    /// The tracer trait (the published crate's `core::tracing::base`).
    pub mod base {
        pub use crate::trace::Tracer;
    }

    /// The trace's types (the published crate's `core::tracing::models`).
    pub mod models {
        pub use crate::trace::{TraceData, TraceNode, TraceSummary};
    }
}
