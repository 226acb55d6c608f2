//! The two allowlisted nvidia-smi commands and the parser of their CSV output.
//!
//! The plugin runs exactly [`QUERY_GPU_COMMAND`] and [`QUERY_APPS_COMMAND`]
//! (`--format=csv,noheader,nounits`, columns in [`GPU_FIELDS`] order). The
//! parser also reads header-ful CSV (`--format=csv` with `name [unit]` headers
//! and `80 MiB`-style cells, any column order, extra columns ignored): that is
//! what recorded captures and some wrappers produce, and it costs nothing.
//!
//! Robustness rules (nothing here panics):
//! * `[N/A]`, `[Not Supported]`, `[Unknown Error]`, any `[...]` cell, `N/A` → `None`;
//! * cells are trimmed (nvidia-smi pads with spaces; `\r\n` line ends are fine);
//! * a row with the wrong number of columns or an unreadable required cell is a
//!   row problem (reported), the other rows still count;
//! * output with no readable row at all (driver errors, "No devices were
//!   found", truncated output) is an error naming the first line.

use serde::Serialize;

/// The `--query-gpu` fields, in the order the plugin asks for them.
pub const GPU_FIELDS: [&str; 13] = [
    "index",
    "uuid",
    "name",
    "driver_version",
    "memory.total",
    "memory.used",
    "memory.free",
    "utilization.gpu",
    "utilization.memory",
    "temperature.gpu",
    "power.draw",
    "power.limit",
    "fan.speed",
];

/// The `--query-compute-apps` fields, in order.
pub const APP_FIELDS: [&str; 3] = ["pid", "process_name", "used_memory"];

/// The GPU telemetry command: the only one of its kind the plugin ever runs.
pub const QUERY_GPU_COMMAND: [&str; 3] = [
    "nvidia-smi",
    "--query-gpu=index,uuid,name,driver_version,memory.total,memory.used,memory.free,utilization.gpu,utilization.memory,temperature.gpu,power.draw,power.limit,fan.speed",
    "--format=csv,noheader,nounits",
];

/// The GPU process command.
pub const QUERY_APPS_COMMAND: [&str; 3] = ["nvidia-smi", "--query-compute-apps=pid,process_name,used_memory", "--format=csv,noheader,nounits"];

/// One physical GPU as nvidia-smi reports it. Numbers are `None` when the
/// device does not report them (`[N/A]`, `[Not Supported]`, MIG mode).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuInfo {
    pub index: u32,
    pub uuid: String,
    pub name: String,
    pub driver_version: Option<String>,
    pub memory_total_mib: Option<f64>,
    pub memory_used_mib: Option<f64>,
    pub memory_free_mib: Option<f64>,
    pub utilization_gpu_pct: Option<f64>,
    pub utilization_memory_pct: Option<f64>,
    pub temperature_c: Option<f64>,
    pub power_draw_w: Option<f64>,
    pub power_limit_w: Option<f64>,
    pub fan_speed_pct: Option<f64>,
}

/// One compute process on a node's GPUs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuProcess {
    pub pid: u32,
    pub process_name: String,
    pub used_memory_mib: Option<f64>,
}

/// Rows read plus the rows that could not be read (`row N: why`).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    pub rows: Vec<T>,
    pub problems: Vec<String>,
}

/// Why a whole output is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("nvidia-smi printed no GPU rows")]
    Empty,
    #[error("no readable row in nvidia-smi output (first line: {first_line:?}; {problem})")]
    Unreadable { first_line: String, problem: String },
    #[error("nvidia-smi CSV header lacks the required column {0:?}")]
    MissingColumn(&'static str),
}

/// A cell that holds no value: `[N/A]`, `[Not Supported]`, `N/A`, empty.
fn is_missing(cell: &str) -> bool {
    cell.is_empty() || (cell.starts_with('[') && cell.ends_with(']')) || cell.eq_ignore_ascii_case("n/a")
}

/// A numeric cell: `None` when missing; `Err` when present but not a number.
/// Accepts a trailing unit (`81559 MiB`, `100 %`, `631.95 W`) as `--format=csv` writes it.
fn number(cell: &str) -> Result<Option<f64>, String> {
    let cell = cell.trim();
    if is_missing(cell) {
        return Ok(None);
    }
    let numeric = match cell.split_once(' ') {
        Some((n, unit)) if matches!(unit.trim(), "MiB" | "%" | "W" | "C" | "MHz" | "KiB" | "GiB") => n,
        _ => cell,
    };
    match numeric.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(format!("{cell:?} is not a number")),
    }
}

fn text(cell: &str) -> Option<String> {
    let cell = cell.trim();
    (!is_missing(cell)).then(|| cell.to_owned())
}

/// Column positions: header-ful CSV maps by name (`memory.used [MiB]` → `memory.used`).
struct Columns {
    positions: Vec<Option<usize>>,
    width: usize,
    has_header: bool,
}

/// Lines of an output, without blank ones, `\r` trimmed, numbered from 1.
fn lines(output: &str) -> Vec<(usize, &str)> {
    output.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r'))).filter(|(_, l)| !l.trim().is_empty()).collect()
}

fn columns(first: &str, fields: &[&'static str], required: &[&'static str]) -> Result<Columns, ParseError> {
    let header: Vec<String> = first.split(',').map(|h| h.trim().split(" [").next().unwrap_or_default().trim().to_owned()).collect();
    // A data row never has a cell that is exactly a field name.
    if !header.iter().any(|h| fields.contains(&h.as_str())) {
        return Ok(Columns { positions: (0..fields.len()).map(Some).collect(), width: fields.len(), has_header: false });
    }
    for r in required {
        if !header.iter().any(|h| h == r) {
            return Err(ParseError::MissingColumn(r));
        }
    }
    Ok(Columns { positions: fields.iter().map(|f| header.iter().position(|h| h == f)).collect(), width: header.len(), has_header: true })
}

fn finish<T>(rows: Vec<T>, problems: Vec<String>, first_line: Option<&str>) -> Result<Parsed<T>, ParseError> {
    if rows.is_empty()
        && let Some(first) = first_line
    {
        let problem = problems.first().cloned().unwrap_or_default();
        return Err(ParseError::Unreadable { first_line: first.chars().take(200).collect(), problem });
    }
    Ok(Parsed { rows, problems })
}

/// Parse `--query-gpu` output (noheader,nounits in [`GPU_FIELDS`] order, or header-ful CSV).
pub fn parse_gpus(output: &str) -> Result<Parsed<GpuInfo>, ParseError> {
    let all = lines(output);
    let Some(&(_, first)) = all.first() else { return Err(ParseError::Empty) };
    let cols = columns(first, &GPU_FIELDS, &["uuid", "name"])?;
    let data = if cols.has_header { &all[1..] } else { &all[..] };
    if data.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (n, (line_no, line)) in data.iter().enumerate() {
        match gpu_row(line, &cols, n) {
            Ok(g) => rows.push(g),
            Err(e) => problems.push(format!("line {line_no}: {e}")),
        }
    }
    finish(rows, problems, Some(first))
}

fn gpu_row(line: &str, cols: &Columns, row_number: usize) -> Result<GpuInfo, String> {
    let cells: Vec<&str> = line.split(',').collect();
    if cells.len() != cols.width {
        return Err(format!("{} columns, expected {} (truncated or malformed output)", cells.len(), cols.width));
    }
    let cell = |i: usize| cols.positions[i].map(|p| cells[p].trim()).unwrap_or("");
    let num = |i: usize| number(cell(i)).map_err(|e| format!("{}: {e}", GPU_FIELDS[i]));
    let index = match number(cell(0)) {
        Ok(Some(v)) if v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64 => v as u32,
        // A capture without the index column: rows are in index order.
        Ok(None) if cols.positions[0].is_none() => row_number as u32,
        _ => return Err(format!("index: {:?} is not a GPU index", cell(0))),
    };
    let uuid = text(cell(1)).ok_or_else(|| "uuid is empty".to_owned())?;
    let name = text(cell(2)).ok_or_else(|| "name is empty".to_owned())?;
    Ok(GpuInfo {
        index,
        uuid,
        name,
        driver_version: text(cell(3)),
        memory_total_mib: num(4)?,
        memory_used_mib: num(5)?,
        memory_free_mib: num(6)?,
        utilization_gpu_pct: num(7)?,
        utilization_memory_pct: num(8)?,
        temperature_c: num(9)?,
        power_draw_w: num(10)?,
        power_limit_w: num(11)?,
        fan_speed_pct: num(12)?,
    })
}

/// Parse `--query-compute-apps` output. Empty output means no processes.
/// The process name may itself contain commas: pid is the first cell and
/// used memory the last, the name is everything between.
pub fn parse_processes(output: &str) -> Result<Parsed<GpuProcess>, ParseError> {
    let all = lines(output);
    let Some(&(_, first)) = all.first() else { return Ok(Parsed { rows: Vec::new(), problems: Vec::new() }) };
    let header_names: Vec<String> = first.split(',').map(|h| h.trim().split(" [").next().unwrap_or_default().trim().to_owned()).collect();
    let has_header = header_names.iter().any(|h| h == "pid") && header_names.iter().any(|h| h == "process_name");
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let data = if has_header { &all[1..] } else { &all[..] };
    for (line_no, line) in data {
        let row = if has_header { app_row_by_header(line, &header_names) } else { app_row(line) };
        match row {
            Ok(p) => rows.push(p),
            Err(e) => problems.push(format!("line {line_no}: {e}")),
        }
    }
    finish(rows, problems, Some(first))
}

fn pid(cell: &str) -> Result<u32, String> {
    cell.trim().parse::<u32>().map_err(|_| format!("pid: {:?} is not a process id", cell.trim()))
}

fn app_row(line: &str) -> Result<GpuProcess, String> {
    let (Some((p, rest)), true) = (line.split_once(','), line.matches(',').count() >= 2) else {
        return Err(format!("{} columns, expected 3 (truncated or malformed output)", line.split(',').count()));
    };
    let (name, mem) = rest.rsplit_once(',').unwrap_or((rest, ""));
    Ok(GpuProcess { pid: pid(p)?, process_name: name.trim().to_owned(), used_memory_mib: number(mem).map_err(|e| format!("used_memory: {e}"))? })
}

fn app_row_by_header(line: &str, header: &[String]) -> Result<GpuProcess, String> {
    let cells: Vec<&str> = line.split(',').collect();
    if cells.len() != header.len() {
        return Err(format!("{} columns, expected {} (truncated or malformed output)", cells.len(), header.len()));
    }
    let get = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str())).map(|i| cells[i].trim()).unwrap_or("");
    Ok(GpuProcess {
        pid: pid(get(&["pid"]))?,
        process_name: get(&["process_name"]).to_owned(),
        used_memory_mib: number(get(&["used_memory", "used_gpu_memory"])).map_err(|e| format!("used_memory: {e}"))?,
    })
}

#[cfg(test)]
#[path = "nvidia_smi_tests.rs"]
mod tests;
