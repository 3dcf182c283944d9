/**
 * The attention viewer's head picker: a transparent rect over each thumbnail, on top of it, that is
 * the hover/click target and draws the frame of the locked head. Shared by the cell view
 * (attentionPatterns.ts) and the picture view (attentionRaster.ts).
 * @param lockParams the viewer's selection params (hover and click on "lock")
 */
export function headPickerLayer(lockParams: unknown): Record<string, unknown> {
  return {
    params: lockParams,
    mark: { type: "rect", fill: "transparent", cursor: "pointer", aria: false },
    encoding: {
      x: { value: 0 },
      x2: { value: "width" },
      y: { value: 0 },
      y2: { value: "height" },
      stroke: { condition: { param: "lock", empty: false, value: "#000000" }, value: "#bbbbbb" },
      strokeWidth: { condition: { param: "lock", empty: false, value: 2.5 }, value: 0.8 },
      tooltip: { field: "headLabel", type: "nominal", title: "hover to view, click to lock" },
    },
  };
}
