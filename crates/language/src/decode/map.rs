//! Map states: the item processor, inline and distributed modes, and the
//! shapes of ItemReader, ItemBatcher and ResultWriter.

use super::*;

impl Decoder {
    /// `ItemReader`, `ItemBatcher` or `ResultWriter`: kept raw for the
    /// runtime, but their shape is checked here so that mistakes surface at
    /// creation rather than when the Map runs.
    pub(super) fn distributed_part(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        ql: QueryLanguage,
        at: At<'_>,
    ) -> Option<Value> {
        let part = self.object(obj, key, at)?;
        let pointer = pointer_push(at.pointer, key);
        let pat = At {
            pointer: &pointer,
            state: at.state,
        };
        let payload = match ql {
            QueryLanguage::JsonPath => "Parameters",
            QueryLanguage::Jsonata => "Arguments",
        };
        let what = format!("\"{key}\"");
        match key {
            "ItemReader" => {
                self.check_part_keys(part, &["Resource", "ReaderConfig", payload], ql, &what, pat);
                self.part_resource(part, pat);
                if let Some(config) = self.object(part, "ReaderConfig", pat) {
                    let cp = pointer_push(&pointer, "ReaderConfig");
                    let cat = At {
                        pointer: &cp,
                        state: at.state,
                    };
                    let mut allowed = vec![
                        "InputType",
                        "CSVHeaderLocation",
                        "CSVHeaders",
                        "CSVDelimiter",
                        "MaxItems",
                        "ManifestType",
                        "ItemsPointer",
                    ];
                    if ql == QueryLanguage::JsonPath {
                        allowed.push("MaxItemsPath");
                    }
                    self.check_part_keys(config, &allowed, ql, "\"ReaderConfig\"", cat);
                    self.enumeration(
                        config,
                        "InputType",
                        &["CSV", "JSON", "JSONL", "PARQUET", "MANIFEST"],
                        cat,
                    );
                    self.enumeration(config, "CSVHeaderLocation", &["FIRST_ROW", "GIVEN"], cat);
                    self.enumeration(
                        config,
                        "CSVDelimiter",
                        &["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"],
                        cat,
                    );
                    // AWS accepts 0 (no limit).
                    self.count_or_expression(config, "MaxItems", ql, cat, 0);
                    if ql == QueryLanguage::JsonPath {
                        self.reference_path(config, "MaxItemsPath", cat);
                    }
                }
            }
            "ItemBatcher" => {
                let mut allowed = vec!["MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"];
                if ql == QueryLanguage::JsonPath {
                    allowed.extend(["MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"]);
                }
                self.check_part_keys(part, &allowed, ql, &what, pat);
                if !allowed
                    .iter()
                    .any(|k| k.starts_with("Max") && part.contains_key(*k))
                {
                    self.error(
                        pat,
                        pointer.clone(),
                        "An \"ItemBatcher\" needs \"MaxItemsPerBatch\" or \"MaxInputBytesPerBatch\" (or their Path forms); add one.".to_string(),
                    );
                }
                self.count_or_expression(part, "MaxItemsPerBatch", ql, pat, 1);
                self.count_or_expression(part, "MaxInputBytesPerBatch", ql, pat, 1);
                if ql == QueryLanguage::JsonPath {
                    self.reference_path(part, "MaxItemsPerBatchPath", pat);
                    self.reference_path(part, "MaxInputBytesPerBatchPath", pat);
                    if part.contains_key("BatchInput") {
                        self.template(part, "BatchInput", pat, true);
                    }
                }
            }
            _ => {
                self.check_part_keys(part, &["Resource", "WriterConfig", payload], ql, &what, pat);
                if part.contains_key(payload) && !part.contains_key("Resource") {
                    self.required(pat, "Resource");
                }
                if part.contains_key("Resource") {
                    self.part_resource(part, pat);
                }
                if let Some(config) = self.object(part, "WriterConfig", pat) {
                    let cp = pointer_push(&pointer, "WriterConfig");
                    let cat = At {
                        pointer: &cp,
                        state: at.state,
                    };
                    self.check_part_keys(
                        config,
                        &["OutputType", "Transformation"],
                        ql,
                        "\"WriterConfig\"",
                        cat,
                    );
                    self.enumeration(config, "OutputType", &["JSON", "JSONL"], cat);
                    self.enumeration(
                        config,
                        "Transformation",
                        &["NONE", "COMPACT", "FLATTEN"],
                        cat,
                    );
                }
            }
        }
        match ql {
            QueryLanguage::JsonPath => {
                if part.contains_key("Parameters") {
                    self.template(part, "Parameters", pat, true);
                }
            }
            QueryLanguage::Jsonata => {
                self.check_jsonata_strings(&Value::Object(part.clone()), &pointer, at)
            }
        }
        Some(Value::Object(part.clone()))
    }

    /// Unknown keys of a distributed-Map part, with the query-language hint.
    pub(super) fn check_part_keys(
        &mut self,
        part: &Map<String, Value>,
        allowed: &[&str],
        ql: QueryLanguage,
        what: &str,
        at: At<'_>,
    ) {
        for key in part.keys() {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let message = match (ql, key.as_str()) {
                (QueryLanguage::Jsonata, "Parameters") => format!("Field 'Parameters' is not supported in JSONata states; use \"Arguments\" in {what}."),
                (QueryLanguage::JsonPath, "Arguments") => format!("Field 'Arguments' is not supported in JSONPath states (it is a JSONata field); use \"Parameters\" in {what}."),
                (QueryLanguage::Jsonata, k) if k.ends_with("Path") => format!("Field '{k}' is not supported in JSONata states; give \"{}\" an expression instead.", k.trim_end_matches("Path")),
                _ => format!("Field '{key}' is not supported in {what}{}; remove it.", case_hint(key, allowed)),
            };
            self.unsupported(at, key, message);
        }
    }

    pub(super) fn part_resource(&mut self, part: &Map<String, Value>, at: At<'_>) {
        match part.get("Resource") {
            None => self.required(at, "Resource"),
            Some(_) => {
                self.string(part, "Resource", at);
            }
        }
    }

    pub(super) fn enumeration(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        values: &[&str],
        at: At<'_>,
    ) {
        if let Some(v) = obj.get(key) {
            if !v.as_str().is_some_and(|s| values.contains(&s)) {
                self.field_error(
                    at,
                    key,
                    format!(
                        "The field \"{key}\" must be one of {}, but it is {}.",
                        values.join(", "),
                        describe(v)
                    ),
                );
            }
        }
    }

    /// An integer of at least `min`, or (in JSONata) an expression.
    pub(super) fn count_or_expression(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        ql: QueryLanguage,
        at: At<'_>,
        min: u64,
    ) {
        match obj.get(key) {
            Some(Value::String(s)) if ql == QueryLanguage::Jsonata && is_jsonata(s) => {}
            Some(_) => {
                self.integer(obj, key, at, min, u64::from(u32::MAX));
            }
            None => {}
        }
    }

    pub(super) fn map(
        &mut self,
        obj: &Map<String, Value>,
        ql: QueryLanguage,
        at: At<'_>,
        depth: usize,
    ) -> MapState {
        let transition = self.transition(obj, at);
        let processor_key = match (
            obj.contains_key("ItemProcessor"),
            obj.contains_key("Iterator"),
        ) {
            (true, true) => {
                self.error(
                    at,
                    at.pointer.to_string(),
                    "The fields \"ItemProcessor\" and \"Iterator\" cannot both be set; keep \"ItemProcessor\" (\"Iterator\" is its deprecated name).".to_string(),
                );
                "ItemProcessor"
            }
            (true, false) => "ItemProcessor",
            (false, true) => "Iterator",
            (false, false) => {
                self.required(at, "ItemProcessor");
                "ItemProcessor"
            }
        };
        let processor_ptr = pointer_push(at.pointer, processor_key);
        let processor_value = obj.get(processor_key);
        let mut mode = MapMode::Inline;
        let mut execution_type = None;
        if let Some(config) = processor_value.and_then(|p| p.get("ProcessorConfig")) {
            let cp = pointer_push(&processor_ptr, "ProcessorConfig");
            let cat = At {
                pointer: &cp,
                state: at.state,
            };
            match config.as_object() {
                Some(c) => {
                    self.check_keys(c, &["Mode", "ExecutionType"], "\"ProcessorConfig\"", cat);
                    match c.get("Mode").map(|v| (v, v.as_str())) {
                        None | Some((_, Some("INLINE"))) => {}
                        Some((_, Some("DISTRIBUTED"))) => mode = MapMode::Distributed,
                        Some((v, _)) => self.field_error(
                            cat,
                            "Mode",
                            format!("The field \"Mode\" must be \"INLINE\" or \"DISTRIBUTED\", but it is {}.", describe(v)),
                        ),
                    }
                    match c.get("ExecutionType").map(|v| (v, v.as_str())) {
                        None => {}
                        Some((_, Some(t @ ("STANDARD" | "EXPRESS")))) => {
                            execution_type = Some(t.to_string());
                        }
                        Some((v, _)) => self.field_error(
                            cat,
                            "ExecutionType",
                            format!("The field \"ExecutionType\" must be \"STANDARD\" or \"EXPRESS\", but it is {}.", describe(v)),
                        ),
                    }
                    if mode == MapMode::Distributed && execution_type.is_none() {
                        self.error(
                            cat,
                            cp.clone(),
                            "A distributed Map needs \"ExecutionType\" (\"STANDARD\" or \"EXPRESS\") in \"ProcessorConfig\"; add it.".to_string(),
                        );
                    }
                    if mode == MapMode::Inline && execution_type.is_some() {
                        self.field_error(
                            cat,
                            "ExecutionType",
                            "The field \"ExecutionType\" is only used by distributed Maps; remove it or set \"Mode\": \"DISTRIBUTED\".".to_string(),
                        );
                    }
                }
                None => self.error(
                    cat,
                    cp.clone(),
                    format!(
                        "The field \"ProcessorConfig\" must be an object, but it is {}.",
                        describe(config)
                    ),
                ),
            }
        }
        let processor = match processor_value {
            // The legacy Iterator takes the same fields as ItemProcessor.
            Some(v) => self.sub_machine(v, &processor_ptr, Level::Processor, at, depth),
            // Missing (reported above): an empty processor keeps the AST whole.
            None => StateMachine {
                comment: None,
                start_at: String::new(),
                states: Vec::new(),
                timeout_seconds: None,
                version: None,
                query_language: self.machine_language,
                pointer: processor_ptr.clone(),
            },
        };

        let (items_path, items) = match ql {
            QueryLanguage::JsonPath => (self.reference_path(obj, "ItemsPath", at), None),
            QueryLanguage::Jsonata => {
                let items = self.jsonata_raw(obj, "Items", at);
                if let Some(v) = &items {
                    let ok = v.is_array() || v.is_object() || v.as_str().is_some_and(is_jsonata);
                    if !ok {
                        self.field_error(
                            at,
                            "Items",
                            format!("The field \"Items\" must be an array or a JSONata expression, but it is {}.", describe(v)),
                        );
                    }
                }
                (None, items)
            }
        };

        let (item_selector, item_selector_jsonata) = match ql {
            QueryLanguage::JsonPath => {
                if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
                    self.error(
                        at,
                        at.pointer.to_string(),
                        "The fields \"ItemSelector\" and \"Parameters\" cannot both be set; keep \"ItemSelector\" (\"Parameters\" is its deprecated name).".to_string(),
                    );
                }
                let key = if obj.contains_key("ItemSelector") {
                    "ItemSelector"
                } else {
                    "Parameters"
                };
                (self.template(obj, key, at, true), None)
            }
            QueryLanguage::Jsonata => (None, self.jsonata_raw(obj, "ItemSelector", at)),
        };

        let max_concurrency = self.number_source(
            obj,
            "MaxConcurrency",
            Some("MaxConcurrencyPath"),
            ql,
            at,
            0,
            u64::from(u32::MAX),
            true,
        );
        let tolerated_failure_percentage = self.number_source(
            obj,
            "ToleratedFailurePercentage",
            Some("ToleratedFailurePercentagePath"),
            ql,
            at,
            0,
            100,
            false,
        );
        let tolerated_failure_count = self.number_source(
            obj,
            "ToleratedFailureCount",
            Some("ToleratedFailureCountPath"),
            ql,
            at,
            0,
            u64::from(u32::MAX),
            true,
        );
        let item_reader = self.distributed_part(obj, "ItemReader", ql, at);
        let item_batcher = self.distributed_part(obj, "ItemBatcher", ql, at);
        let result_writer = self.distributed_part(obj, "ResultWriter", ql, at);
        let label = self.string(obj, "Label", at).map(str::to_string);
        if let Some(l) = &label {
            if l.chars().count() > 40
                || l.chars()
                    .any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
            {
                self.field_error(
                    at,
                    "Label",
                    "The field \"Label\" must be at most 40 characters without spaces or special characters.".to_string(),
                );
            }
        }
        if mode == MapMode::Inline {
            for key in [
                "ItemReader",
                "ItemBatcher",
                "ResultWriter",
                "Label",
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
                "ToleratedFailureCount",
                "ToleratedFailureCountPath",
            ] {
                // AWS accepts these on inline Maps (the corpus runs such
                // machines), so this is only a warning.
                if obj.contains_key(key) {
                    let mut d = Diagnostic::warning(
                        INLINE_MAP_FIELD,
                        pointer_push(at.pointer, key),
                        format!("The field \"{key}\" is meant for distributed Maps; set \"ProcessorConfig\": {{\"Mode\": \"DISTRIBUTED\", …}} or check that it does what you expect here."),
                    );
                    d.state = at.state.map(str::to_string);
                    self.diagnostics.push(d);
                }
            }
        }

        MapState {
            transition,
            processor: Box::new(processor),
            mode,
            execution_type,
            items_path,
            items,
            item_selector,
            item_selector_jsonata,
            max_concurrency,
            tolerated_failure_percentage,
            tolerated_failure_count,
            item_reader,
            item_batcher,
            result_writer,
            label,
            retry: self.retriers(obj, at),
            catch: self.catchers(obj, ql, at),
        }
    }
}
