//! Apple-Silicon power: the metric names (defined once here and in
//! docs/metrics.md), the `powermetrics -f plist` parser ([`plist`]) and the
//! sample → metrics mapping the `macos-exporter` CLI serves on /metrics.

use crate::plist::Plist;

pub const CPU_POWER: &str = "macos_cpu_power_watts";
pub const GPU_POWER: &str = "macos_gpu_power_watts";
pub const ANE_POWER: &str = "macos_ane_power_watts";
pub const PACKAGE_POWER: &str = "macos_package_power_watts";
pub const THERMAL_PRESSURE: &str = "macos_thermal_pressure";
pub const MEMORY_PRESSURE: &str = "macos_memory_pressure_ratio";
pub const CPU_TEMPERATURE: &str = "macos_cpu_temperature_celsius";

/// The gauges of the `power` view, in display order.
pub const POWER_VIEW_METRICS: [&str; 7] = [CPU_POWER, GPU_POWER, ANE_POWER, PACKAGE_POWER, THERMAL_PRESSURE, MEMORY_PRESSURE, CPU_TEMPERATURE];

/// The powermetrics samplers the exporter asks for.
pub const SAMPLERS: &str = "cpu_power,gpu_power,ane_power,thermal";

/// powermetrics' thermal pressure names → the level exported.
pub fn thermal_level(name: &str) -> Option<f64> {
    match name.trim().to_ascii_lowercase().as_str() {
        "nominal" => Some(0.0),
        "moderate" | "fair" => Some(1.0),
        "heavy" | "serious" => Some(2.0),
        "trapping" | "critical" => Some(3.0),
        "sleeping" => Some(4.0),
        _ => None,
    }
}

/// One powermetrics sample reduced to the exported gauges (watts, level).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PowerSample {
    pub cpu_w: Option<f64>,
    pub gpu_w: Option<f64>,
    pub ane_w: Option<f64>,
    pub package_w: Option<f64>,
    pub thermal_pressure: Option<f64>,
    pub hw_model: Option<String>,
}

/// Power in watts from a sampler dict: `<x>_power` (mW) when present, else
/// `<x>_energy` (mJ over the sample's `elapsed_ns`).
fn watts(dict: Option<&Plist>, name: &str, elapsed_s: Option<f64>) -> Option<f64> {
    let d = dict?;
    if let Some(mw) = d.get(&format!("{name}_power")).and_then(Plist::as_f64) {
        return Some(mw / 1000.0);
    }
    let mj = d.get(&format!("{name}_energy")).and_then(Plist::as_f64)?;
    let s = elapsed_s.filter(|s| *s > 0.0)?;
    Some(mj / 1000.0 / s)
}

impl PowerSample {
    /// Read one sample (`-f plist` prints one `<plist>` document per sample).
    /// Samplers not in the sample leave their gauges unset.
    pub fn from_plist(doc: &Plist) -> Self {
        let elapsed_s = doc.get("elapsed_ns").and_then(Plist::as_f64).map(|ns| ns / 1e9);
        let processor = doc.get("processor");
        let cpu_w = watts(processor, "cpu", elapsed_s);
        // The gpu_power sampler reports under `gpu`; cpu_power also repeats it under `processor`.
        let gpu_w = watts(doc.get("gpu"), "gpu", elapsed_s).or_else(|| watts(processor, "gpu", elapsed_s));
        let ane_w = watts(processor, "ane", elapsed_s);
        let package_w =
            processor.and_then(|p| p.get("combined_power")).and_then(Plist::as_f64).map(|mw| mw / 1000.0).or(match (cpu_w, gpu_w, ane_w) {
                (Some(c), Some(g), Some(a)) => Some(c + g + a),
                _ => None,
            });
        let thermal_pressure = doc.get("thermal_pressure").and_then(Plist::as_str).and_then(thermal_level);
        PowerSample { cpu_w, gpu_w, ane_w, package_w, thermal_pressure, hw_model: doc.get("hw_model").and_then(Plist::as_str).map(str::to_owned) }
    }

    /// Prometheus text exposition of the sample for `node`.
    pub fn exposition(&self, node: &str) -> String {
        let node = node.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
        let mut out = String::new();
        let gauges = [
            (CPU_POWER, "CPU power (powermetrics cpu_power).", self.cpu_w),
            (GPU_POWER, "GPU power (powermetrics gpu_power).", self.gpu_w),
            (ANE_POWER, "Neural Engine power (powermetrics ane_power).", self.ane_w),
            (PACKAGE_POWER, "Combined power CPU + GPU + ANE.", self.package_w),
            (THERMAL_PRESSURE, "Thermal pressure: 0 nominal, 1 moderate, 2 heavy, 3 trapping, 4 sleeping.", self.thermal_pressure),
        ];
        for (name, help, v) in gauges {
            if let Some(v) = v {
                out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{node=\"{node}\"}} {v}\n"));
            }
        }
        out
    }
}

/// Split powermetrics' plist stream (documents separated by NUL bytes) into documents.
pub fn split_documents(stream: &str) -> impl Iterator<Item = &str> {
    stream.split('\0').map(str::trim).filter(|d| d.contains("<plist"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plist;

    fn recorded() -> String {
        std::fs::read_to_string(format!(
            "{}/../../tests/fixtures/powermetrics/plist_gpu_power_single_sample.mac16-8.matiasinsaurralde-powermetrics-testdata.plist",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn recorded_gpu_power_sample() {
        let doc = plist::parse(&recorded()).unwrap();
        let s = PowerSample::from_plist(&doc);
        // gpu_energy 9 mJ over elapsed_ns 5005449083.
        assert!((s.gpu_w.unwrap() - 0.009 / 5.005449083).abs() < 1e-12, "{s:?}");
        assert_eq!((s.cpu_w, s.ane_w, s.package_w, s.thermal_pressure), (None, None, None, None));
        assert_eq!(s.hw_model.as_deref(), Some("Mac16,8"));
        let text = s.exposition("mac-studio-01");
        assert!(text.contains("# TYPE macos_gpu_power_watts gauge\nmacos_gpu_power_watts{node=\"mac-studio-01\"} 0.0017980"), "{text}");
        assert!(!text.contains(CPU_POWER));
    }

    #[test]
    fn processor_and_thermal_samplers() {
        // The cpu_power/thermal keys powermetrics writes (no real recording of them exists in the fixtures).
        let doc = plist::parse(
            "<plist version=\"1.0\"><dict><key>elapsed_ns</key><integer>1000000000</integer><key>thermal_pressure</key><string>Heavy</string>\
             <key>processor</key><dict><key>cpu_power</key><real>1234.5</real><key>gpu_power</key><real>100</real><key>ane_power</key><real>0</real>\
             <key>combined_power</key><real>1334.5</real></dict></dict></plist>",
        )
        .unwrap();
        let s = PowerSample::from_plist(&doc);
        assert_eq!((s.cpu_w, s.gpu_w, s.ane_w, s.package_w, s.thermal_pressure), (Some(1.2345), Some(0.1), Some(0.0), Some(1.3345), Some(2.0)));
        let stream = format!("{}\0{}\0", recorded(), recorded());
        assert_eq!(split_documents(&stream).count(), 2);
    }

    #[test]
    fn names_are_documented_once() {
        let doc = std::fs::read_to_string(format!("{}/../../docs/metrics.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
        for m in POWER_VIEW_METRICS {
            assert!(doc.contains(&format!("`{m}`")), "docs/metrics.md does not define {m}");
        }
    }
}
