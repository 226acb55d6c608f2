//! Parser tests on every real capture in tests/fixtures/nvidia-smi, on those
//! captures projected onto the plugin's noheader,nounits command, and on
//! broken outputs.

use super::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/nvidia-smi/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A header-ful capture rewritten as `--format=csv,noheader,nounits` with the
/// seed's 13 columns: what the plugin's own command prints on that machine.
fn project(capture: &str) -> String {
    let mut lines = capture.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(|h| h.trim().split(" [").next().unwrap().to_owned()).collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cells: Vec<&str> = l.split(',').map(str::trim).collect();
            GPU_FIELDS
                .iter()
                .map(|f| {
                    let v = header.iter().position(|h| h == f).map(|i| cells[i]).unwrap_or("[N/A]");
                    v.trim_end_matches(" MiB").trim_end_matches(" %").trim_end_matches(" W").to_owned()
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const H100: &str = "query_gpu_all_fields.h100-80gb-hbm3.drv590.load.nvidia_gpu_exporter.csv";
const RTX: &str = "query_gpu_all_fields.rtx-4080-super.drv595.load.nvidia_gpu_exporter.csv";
const MIG: &str = "query_gpu_all_fields_mig.h100-mig.drv590.load.nvidia_gpu_exporter.csv";
const P100: &str = "query_gpu_csv_nounits_fan_NA.tesla-p100.netdata-testdata.csv";

fn h100_expected() -> GpuInfo {
    GpuInfo {
        index: 0,
        uuid: "GPU-00000000-0000-0000-0000-000000000000".into(),
        name: "NVIDIA H100 80GB HBM3".into(),
        driver_version: Some("590.48.01".into()),
        memory_total_mib: Some(81559.0),
        memory_used_mib: Some(19818.0),
        memory_free_mib: Some(61263.0),
        utilization_gpu_pct: Some(100.0),
        utilization_memory_pct: Some(11.0),
        temperature_c: Some(59.0),
        power_draw_w: Some(631.95),
        power_limit_w: Some(700.0),
        fan_speed_pct: None,
    }
}

#[test]
fn h100_capture_header_and_units() {
    let p = parse_gpus(&fixture(H100)).unwrap();
    assert_eq!(p.problems, Vec::<String>::new());
    assert_eq!(p.rows, vec![h100_expected()]);
}

#[test]
fn h100_projected_onto_the_plugin_command() {
    let text = project(&fixture(H100));
    assert_eq!(text.split(", ").count(), 13);
    let p = parse_gpus(&text).unwrap();
    assert_eq!(p.rows, vec![h100_expected()]);
}

#[test]
fn rtx_capture_fan_zero_is_a_value() {
    for text in [fixture(RTX), project(&fixture(RTX))] {
        let p = parse_gpus(&text).unwrap();
        let g = &p.rows[0];
        assert_eq!(g.name, "NVIDIA GeForce RTX 4080 SUPER");
        assert_eq!(g.fan_speed_pct, Some(0.0));
        assert_eq!(g.power_draw_w, Some(84.24));
        assert_eq!(g.power_limit_w, Some(320.0));
        assert_eq!(g.memory_total_mib, Some(16376.0));
        assert_eq!(g.driver_version.as_deref(), Some("595.71.05"));
    }
}

#[test]
fn mig_capture_has_no_utilisation() {
    for text in [fixture(MIG), project(&fixture(MIG))] {
        let p = parse_gpus(&text).unwrap();
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let g = &p.rows[0];
        assert_eq!(g.utilization_gpu_pct, None);
        assert_eq!(g.utilization_memory_pct, None);
        assert_eq!(g.memory_used_mib, Some(11125.0));
        assert_eq!(g.temperature_c, Some(53.0));
        assert_eq!(g.power_draw_w, Some(433.78));
    }
}

#[test]
fn p100_nounits_capture_without_index_column() {
    let p = parse_gpus(&fixture(P100)).unwrap();
    let g = &p.rows[0];
    assert_eq!(g.index, 0);
    assert_eq!(g.name, "Tesla P100-PCIE-16GB");
    assert_eq!(g.uuid, "GPU-ef1b2c9b-38d8-2090-2bd1-f567a3eb42a6");
    assert_eq!(g.memory_free_mib, Some(16280.0));
    assert_eq!(g.memory_total_mib, None);
    assert_eq!(g.fan_speed_pct, None);
    assert_eq!(g.power_draw_w, Some(28.16));
}

#[test]
fn compute_apps_captures() {
    let p = parse_processes(&fixture("query_compute_apps.h100-80gb-hbm3.drv590.load.nvidia_gpu_exporter.csv")).unwrap();
    assert!(p.problems.is_empty());
    let got: Vec<(u32, &str, Option<f64>)> = p.rows.iter().map(|r| (r.pid, r.process_name.as_str(), r.used_memory_mib)).collect();
    assert_eq!(
        got,
        vec![(11327, "/root/tools/memhog", Some(2566.0)), (11328, "/root/tools/memhog", Some(1542.0)), (11345, "./gpu_burn", Some(15690.0))]
    );
    let p = parse_processes(&fixture("query_compute_apps.rtx-4080-super.drv595.load.nvidia_gpu_exporter.csv")).unwrap();
    assert_eq!(p.rows.len(), 3);
    assert_eq!(p.rows[1].process_name, "ffmpeg");
    assert_eq!(p.rows[1].used_memory_mib, Some(503.0));
}

#[test]
fn compute_apps_noheader_with_commas_na_and_odd_whitespace() {
    let text = "  11327, /opt/a,b/run, 2566\r\n\n4242 ,python3,[N/A]\n   \n";
    let p = parse_processes(text).unwrap();
    assert!(p.problems.is_empty());
    assert_eq!(p.rows[0].process_name, "/opt/a,b/run");
    assert_eq!(p.rows[0].pid, 11327);
    assert_eq!(p.rows[1], GpuProcess { pid: 4242, process_name: "python3".into(), used_memory_mib: None });
    assert_eq!(parse_processes("").unwrap().rows, vec![]);
    assert_eq!(parse_processes("\n  \n").unwrap().rows, vec![]);
}

#[test]
fn not_supported_unknown_and_odd_whitespace() {
    let text = "0,GPU-a,Tesla T4,535.1,15360,[Not Supported],15000,[N/A],  7 ,  41,[Unknown Error],70.00,N/A\r\n";
    let p = parse_gpus(text).unwrap();
    let g = &p.rows[0];
    assert_eq!(g.memory_used_mib, None);
    assert_eq!(g.utilization_gpu_pct, None);
    assert_eq!(g.utilization_memory_pct, Some(7.0));
    assert_eq!(g.power_draw_w, None);
    assert_eq!(g.fan_speed_pct, None);
}

#[test]
fn partial_output_keeps_good_rows_and_names_the_bad_one() {
    let good = project(&fixture(H100));
    let truncated = format!("{good}\n1, GPU-1, NVIDIA H100 80GB HBM3, 590.48.01, 81559, 12");
    let p = parse_gpus(&truncated).unwrap();
    assert_eq!(p.rows.len(), 1);
    assert_eq!(p.problems.len(), 1);
    assert!(p.problems[0].starts_with("line 2: 6 columns, expected 13"), "{}", p.problems[0]);
}

#[test]
fn malformed_outputs_are_errors_not_panics() {
    assert_eq!(parse_gpus(""), Err(ParseError::Empty));
    let e = parse_gpus("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n").unwrap_err();
    assert!(e.to_string().contains("couldn't communicate"), "{e}");
    let e = parse_gpus("No devices were found\n").unwrap_err();
    assert!(matches!(e, ParseError::Unreadable { .. }));
    // Wrong types in a full-width row.
    let e = parse_gpus("x,GPU-a,T4,1,2,3,4,5,6,7,8,9,10").unwrap_err();
    assert!(e.to_string().contains("index"), "{e}");
    let e = parse_gpus("0,GPU-a,T4,1,lots,3,4,5,6,7,8,9,10").unwrap_err();
    assert!(e.to_string().contains("memory.total"), "{e}");
    // Header only.
    assert_eq!(parse_gpus("index, uuid, name\n"), Err(ParseError::Empty));
    // Header without a required column.
    assert_eq!(parse_gpus("index, name\n0, T4\n"), Err(ParseError::MissingColumn("uuid")));
    assert!(parse_processes("garbage").is_err());
    assert!(parse_processes("abc, x, 1").is_err());
    // Arbitrary bytes never panic.
    for s in ["\u{0}", ",,,,,,,,,,,,", "[N/A]", "0,,,,,,,,,,,,", "\u{feff}index,uuid"] {
        let _ = parse_gpus(s);
        let _ = parse_processes(s);
    }
}

#[test]
fn commands_are_the_seed_commands() {
    assert_eq!(QUERY_GPU_COMMAND[1], format!("--query-gpu={}", GPU_FIELDS.join(",")));
    assert_eq!(QUERY_APPS_COMMAND[1], format!("--query-compute-apps={}", APP_FIELDS.join(",")));
    assert_eq!(QUERY_GPU_COMMAND[2], "--format=csv,noheader,nounits");
}
