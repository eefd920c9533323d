//! Progress as events, the one way every migration reports it: each migration has its own event
//! type (the re-embed's `reembed::Event`, the table migration's `TablesEvent`, the copy-back's
//! `CopyEvent`), and the caller draws them (the library never prints).

/// Receives a migration's events; called from several tasks, so it must not block for long.
pub trait EventSink<E>: Send + Sync {
    fn emit(&self, event: E);
}

impl<E, F: Fn(E) + Send + Sync> EventSink<E> for F {
    fn emit(&self, event: E) {
        self(event)
    }
}

/// For callers that do not draw progress.
pub struct NoEvents;

impl<E> EventSink<E> for NoEvents {
    fn emit(&self, _event: E) {}
}
