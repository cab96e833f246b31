// SPDX-License-Identifier: AGPL-3.0-or-later
// ECharts with only the parts the console draws (keeps the bundle small).
import * as echarts from "echarts/core";
import { LineChart, SankeyChart, HeatmapChart } from "echarts/charts";
import {
  GridComponent, TooltipComponent, BrushComponent, VisualMapContinuousComponent,
  TitleComponent, AxisPointerComponent, DataZoomInsideComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  LineChart, SankeyChart, HeatmapChart, GridComponent, TooltipComponent, BrushComponent,
  VisualMapContinuousComponent, TitleComponent, AxisPointerComponent, DataZoomInsideComponent,
  CanvasRenderer,
]);

export { echarts };
export type { EChartsCoreOption as ChartOption } from "echarts/core";
