//! Load files: a picker button and a drop zone.

use leptos::prelude::*;

use crate::web::{dropped_files, picked_files, PickedFile};

#[component]
pub fn FileLoader<F>(on_files: F) -> impl IntoView
where
    F: Fn(Vec<PickedFile>) + Copy + 'static,
{
    let dragging = RwSignal::new(false);
    view! {
        <div
            class="drop-zone"
            class:dragging=move || dragging.get()
            data-testid="drop-zone"
            on:dragover=move |ev| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev| {
                ev.prevent_default();
                dragging.set(false);
                on_files(dropped_files(&ev));
            }
        >
            <label class="button">
                "Load usage files"
                <input
                    type="file"
                    multiple
                    accept=".csv,.json,.gz,text/csv,application/json"
                    data-testid="file-input"
                    on:change=move |ev| on_files(picked_files(&ev))
                />
            </label>
            <span class="hint">"or drop CSV, JSON or .gz exports here"</span>
        </div>
    }
}
