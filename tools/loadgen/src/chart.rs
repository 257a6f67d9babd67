//! One SVG per run: throughput (events accepted and deliveries per second)
//! above, end-to-end latency (p50, p99, max per second, log scale) below.

use std::path::Path;

use plotters::prelude::*;

use crate::series::Second;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 560;

/// Draw `series` to `path`, titled `title`.
pub fn draw(path: &Path, title: &str, series: &[Second]) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 18))?;
    let (top, bottom) = root.split_vertically(HEIGHT / 2 - 10);
    let secs = series.len().max(1) as f64;
    throughput(&top, series, secs)?;
    latency(&bottom, series, secs)?;
    root.present()?;
    Ok(())
}

/// A line of a chart: its legend, colour and the value it draws.
type Line = (&'static str, RGBColor, fn(&Second) -> f64);

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn throughput(area: &Area, series: &[Second], secs: f64) -> anyhow::Result<()> {
    let peak = series
        .iter()
        .map(|s| s.accepted.max(s.delivered))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .caption("per second", ("sans-serif", 14))
        .build_cartesian_2d(0f64..secs, 0f64..peak * 1.1)?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first event was sent")
        .y_desc("events / deliveries")
        .draw()?;
    let lines: [Line; 2] = [
        ("events accepted", BLUE, |s| s.accepted as f64),
        ("deliveries", RGBColor(0, 150, 0), |s| s.delivered as f64),
    ];
    for (label, color, value) in lines {
        chart
            .draw_series(LineSeries::new(
                series.iter().map(|s| (s.t as f64 + 0.5, value(s))),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    legend(&mut chart)
}

fn latency(area: &Area, series: &[Second], secs: f64) -> anyhow::Result<()> {
    let delivered: Vec<&Second> = series.iter().filter(|s| s.delivered > 0).collect();
    let top = delivered.iter().map(|s| s.max_ms).fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .caption(
            "end-to-end latency of the deliveries arriving in each second",
            ("sans-serif", 14),
        )
        .build_cartesian_2d(0f64..secs, (0.1f64..top * 1.5).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first event was sent")
        .y_desc("ms (log scale)")
        .draw()?;
    let lines: [Line; 3] = [
        ("p50", BLUE, |s| s.p50_ms),
        ("p99", RED, |s| s.p99_ms),
        ("max", RGBColor(150, 150, 150), |s| s.max_ms),
    ];
    for (label, color, value) in lines {
        chart
            .draw_series(LineSeries::new(
                delivered
                    .iter()
                    .map(|s| (s.t as f64 + 0.5, value(s).max(0.1))),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    legend(&mut chart)
}

fn legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow::anyhow!("legend: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_drawn_as_one_svg_with_its_five_labelled_lines() {
        let series: Vec<Second> = (0..5)
            .map(|t| Second {
                t,
                accepted: 1000 + t * 10,
                delivered: 990 + t * 10,
                p50_ms: 2.0,
                p99_ms: 9.0 + t as f64,
                max_ms: 40.0,
            })
            .collect();
        let path = std::env::temp_dir().join(format!("loadgen-chart-{}.svg", std::process::id()));
        draw(&path, "s1", &series).expect("draw");
        let svg = std::fs::read_to_string(&path).expect("read");
        let _ = std::fs::remove_file(&path);
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        // p99 is drawn in red, the deliveries in green.
        assert!(
            svg.contains("#FF0000") && svg.contains("#009600"),
            "lines missing"
        );
        for label in ["events accepted", "deliveries", "p50", "p99", "max"] {
            assert!(svg.contains(label), "{label} missing");
        }
    }
}
