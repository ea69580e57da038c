//! The app under test: the real `App` in a `VirtualDom` over the fakes,
//! controls found by their element `id`, events fired through the event
//! API, and the HTML rendered by dioxus-ssr.
use crate::fakes::{FakeBank, BANK_ID, KID, RFC_SEED, URL};
use dioxus::prelude::*;
use dioxus_core::{AttributeValue, ElementId, Event, Mutations, Template, TemplateAttribute};
use dioxus_core::{TemplateNode, WriteMutations};
use dioxus_html::{PlatformEventData, SerializedFormData, SerializedMouseData};
use softtoken::i18n::Lang;
use softtoken::services::testing::{FixedClock, MemoryClipboard, MemoryStore};
use softtoken::services::{BankClient, BankDirectory, Services, TokenMeta, TokenStore};
use softtoken::ui::{App, StartOptions};
use softtoken_core::{Secret, Serial};
use std::any::Any;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

pub fn meta(serial: &str, bank: &str) -> TokenMeta {
    TokenMeta {
        serial: Serial::parse_strict(serial).unwrap(),
        bank_id: BANK_ID.into(),
        bank_name: bank.into(),
        url: URL.into(),
        paired_at: 1_700_000_000,
        bind_by: None,
        clock_offset: None,
    }
}

pub const SERIAL: &str = "K7M3Q9XZ2PD0";
pub const SERIAL2: &str = "2V0716016FKF";

/// The static `id` attribute of a template node, if it has one.
fn static_id(node: &TemplateNode) -> Option<&'static str> {
    let TemplateNode::Element { attrs, .. } = node else {
        return None;
    };
    attrs.iter().find_map(|a| match a {
        TemplateAttribute::Static {
            name: "id", value, ..
        } => Some(*value),
        _ => None,
    })
}

/// Passes one render's edits on to `edits` and notes which element got
/// which `id`: static ids from the templates (a root when it is loaded, an
/// inner node when it gets an element id because it has a listener or a
/// dynamic attribute) and dynamic ones from `SetAttribute`.
struct Recorder<'a> {
    ids: &'a mut HashMap<String, ElementId>,
    edits: Mutations,
    /// The template root loaded last: inner ids are assigned relative to it.
    root: Option<(Template, usize)>,
}

impl<'a> Recorder<'a> {
    fn new(ids: &'a mut HashMap<String, ElementId>) -> Self {
        Recorder {
            ids,
            edits: Mutations::default(),
            root: None,
        }
    }

    fn note(&mut self, node: &TemplateNode, id: ElementId) {
        if let Some(name) = static_id(node) {
            self.ids.insert(name.to_owned(), id);
        }
    }
}

impl WriteMutations for Recorder<'_> {
    fn append_children(&mut self, id: ElementId, m: usize) {
        self.edits.append_children(id, m)
    }
    fn assign_node_id(&mut self, path: &'static [u8], id: ElementId) {
        if let Some((template, root)) = self.root {
            let mut node = &template.roots[root];
            for &i in path {
                match node {
                    TemplateNode::Element { children, .. } => node = &children[i as usize],
                    _ => break,
                }
            }
            self.note(node, id);
        }
        self.edits.assign_node_id(path, id)
    }
    fn create_placeholder(&mut self, id: ElementId) {
        self.edits.create_placeholder(id)
    }
    fn create_text_node(&mut self, value: &str, id: ElementId) {
        self.edits.create_text_node(value, id)
    }
    fn load_template(&mut self, template: Template, index: usize, id: ElementId) {
        self.root = Some((template, index));
        self.note(&template.roots[index], id);
        self.edits.load_template(template, index, id)
    }
    fn replace_node_with(&mut self, id: ElementId, m: usize) {
        self.edits.replace_node_with(id, m)
    }
    fn replace_placeholder_with_nodes(&mut self, path: &'static [u8], m: usize) {
        self.edits.replace_placeholder_with_nodes(path, m)
    }
    fn insert_nodes_after(&mut self, id: ElementId, m: usize) {
        self.edits.insert_nodes_after(id, m)
    }
    fn insert_nodes_before(&mut self, id: ElementId, m: usize) {
        self.edits.insert_nodes_before(id, m)
    }
    fn set_attribute(
        &mut self,
        name: &'static str,
        ns: Option<&'static str>,
        value: &AttributeValue,
        id: ElementId,
    ) {
        if let ("id", AttributeValue::Text(t)) = (name, value) {
            self.ids.insert(t.clone(), id);
        }
        self.edits.set_attribute(name, ns, value, id)
    }
    fn set_node_text(&mut self, value: &str, id: ElementId) {
        self.edits.set_node_text(value, id)
    }
    fn create_event_listener(&mut self, name: &'static str, id: ElementId) {
        self.edits.create_event_listener(name, id)
    }
    fn remove_event_listener(&mut self, name: &'static str, id: ElementId) {
        self.edits.remove_event_listener(name, id)
    }
    fn remove_node(&mut self, id: ElementId) {
        self.edits.remove_node(id)
    }
    fn push_root(&mut self, id: ElementId) {
        self.edits.push_root(id)
    }
}

/// The app under test.
pub struct Harness {
    pub dom: VirtualDom,
    /// Element `id` → the element that last had it.
    ids: HashMap<String, ElementId>,
    pub clock: FixedClock,
    pub clipboard: MemoryClipboard,
}

impl Harness {
    pub fn start(
        store: Arc<dyn TokenStore>,
        bank: Arc<dyn BankClient>,
        directory: BankDirectory,
        clock: FixedClock,
        lang: Lang,
        pair_link: Option<String>,
    ) -> Harness {
        dioxus_html::set_event_converter(Box::new(dioxus_html::SerializedHtmlEventConverter));
        let clipboard = MemoryClipboard::default();
        let services = Services {
            clock: Arc::new(clock.clone()),
            store,
            bank,
            directory: Arc::new(directory),
            clipboard: Arc::new(clipboard.clone()),
        };
        let dom = VirtualDom::new(App)
            .with_root_context(services)
            .with_root_context(StartOptions { lang, pair_link });
        Harness::from_dom(dom, clock, clipboard)
    }

    /// The app under test from a `VirtualDom` the test prepared (another
    /// root component, more root contexts); `clock` and `clipboard` are the
    /// ones its `Services` use.
    pub fn from_dom(dom: VirtualDom, clock: FixedClock, clipboard: MemoryClipboard) -> Harness {
        dioxus_html::set_event_converter(Box::new(dioxus_html::SerializedHtmlEventConverter));
        let mut h = Harness {
            dom,
            ids: HashMap::new(),
            clock,
            clipboard,
        };
        let mut rec = Recorder::new(&mut h.ids);
        h.dom.rebuild(&mut rec);
        h
    }

    /// Renders what is dirty; returns the edits the web view would get.
    fn render(&mut self) -> Mutations {
        let mut rec = Recorder::new(&mut self.ids);
        self.dom.render_immediate(&mut rec);
        rec.edits
    }

    pub fn html(&self) -> String {
        dioxus_ssr::render(&self.dom)
    }

    /// Runs every task that is ready now (no timer fires: time is paused
    /// and the 50 ms timeout is always the earliest timer).
    pub async fn settle(&mut self) {
        for _ in 0..50 {
            match tokio::time::timeout(Duration::from_millis(50), self.dom.wait_for_work()).await {
                Ok(()) => {
                    self.render();
                }
                Err(_) => break,
            }
        }
        self.render();
    }

    /// Sets the clock and lets the one-second ticker fire once.
    pub async fn tick_to(&mut self, unix: u64) {
        self.clock.set(unix);
        let _ = tokio::time::timeout(Duration::from_millis(1001), self.dom.wait_for_work()).await;
        self.render();
        self.settle().await;
    }

    /// Sets the clock, lets the ticker fire once and returns the edits the
    /// web view would receive for that tick (as debug strings).
    pub async fn tick_edits(&mut self, unix: u64) -> Vec<String> {
        self.clock.set(unix);
        let mut out = Vec::new();
        for _ in 0..5 {
            if tokio::time::timeout(Duration::from_millis(1001), self.dom.wait_for_work())
                .await
                .is_err()
            {
                break;
            }
            let m = self.render();
            out.extend(m.edits.iter().map(|e| format!("{e:?}")));
        }
        out
    }

    /// Fires `name` at the control with element id `id`, which must be on
    /// the screen now; `data` is the event's serialized data.
    pub fn fire(&mut self, id: &str, name: &str, data: Box<dyn Any>) {
        let html = self.html();
        assert!(
            html.contains(&format!(r#"id="{id}""#)),
            "no control with id {id:?} on the screen: {html}"
        );
        let element = *self.ids.get(id).unwrap_or_else(|| {
            panic!(
                "control {id:?} has no element id (no listener?); have {:?}",
                self.ids.keys()
            )
        });
        let event = Event::new(Rc::new(PlatformEventData::new(data)) as Rc<dyn Any>, true);
        self.dom.runtime().handle_event(name, event, element);
        self.render();
    }

    /// Clicks the control with element id `id`.
    pub async fn click(&mut self, id: &str) {
        self.fire(id, "click", Box::new(SerializedMouseData::default()));
        self.settle().await;
    }

    /// Types `value` into the input with element id `id`.
    pub async fn type_into(&mut self, id: &str, value: &str) {
        self.fire(
            id,
            "input",
            Box::new(SerializedFormData::new(value.to_owned(), Vec::new())),
        );
        self.settle().await;
    }

    /// The `aria-label` of the element with id `id` as rendered now.
    pub fn label_of(&self, id: &str) -> Option<String> {
        let html = self.html();
        let at = html.find(&format!(r#"id="{id}""#))?;
        let start = html[..at].rfind('<')?;
        let end = start + html[start..].find('>')?;
        let tag = &html[start..end];
        let from = tag.find(r#"aria-label=""#)? + r#"aria-label=""#.len();
        let to = from + tag[from..].find('"')?;
        Some(tag[from..to].to_owned())
    }
}

pub struct World {
    pub store: Arc<MemoryStore>,
    pub bank: Arc<FakeBank>,
    pub clock: FixedClock,
}

pub fn world(unix: u64, tokens: Vec<(TokenMeta, Secret)>) -> World {
    let clock = FixedClock::at(unix);
    let store = Arc::new(MemoryStore::with_tokens(tokens));
    let bank = Arc::new(FakeBank::new(clock.clone(), store.clone()));
    World { store, bank, clock }
}

pub fn dir_of(bank: &FakeBank) -> BankDirectory {
    let mut d = BankDirectory::default();
    let e = bank.entry();
    let key = softtoken_core::encoding::encode(&e.keys[0].public);
    d.trust_profile(&format!(
        r#"{{"bank_id":"{BANK_ID}","name":"{}","url":"{URL}","server_key_id":"{KID}","server_public_key":"{key}"}}"#,
        e.name
    ))
    .unwrap();
    d
}

pub async fn app(w: &World, lang: Lang, link: Option<&str>) -> Harness {
    let mut h = Harness::start(
        w.store.clone(),
        w.bank.clone(),
        dir_of(&w.bank),
        w.clock.clone(),
        lang,
        link.map(str::to_owned),
    );
    h.settle().await;
    h
}

pub fn rfc_token() -> Vec<(TokenMeta, Secret)> {
    vec![(meta(SERIAL, "デモ信用金庫"), Secret::from_slice(RFC_SEED))]
}
