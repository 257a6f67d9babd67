//! The operations console and the API it needs (issue 12): test events,
//! the event list, delivery filters and stable pages, attempts with their
//! headers, stats, replays, fresh retry schedules after a manual re-send,
//! tenant isolation of every new route, index-served filters (plans),
//! retention under load, and the console itself in headless Chromium.

mod browser;
mod dataset;
mod headers_cost;
mod isolation;
mod log;
mod plans;
mod replay;
mod retention;
mod sends;
mod support;
