// The reader's choice of a light export ("Light, for slides"), shared by every figure's export
// buttons on the page: ticked once for a set of slides, it stays ticked for the next figure.
export const exportChoice = $state({ light: false });
