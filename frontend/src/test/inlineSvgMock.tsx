// @grafana/ui's Icon loads `public/img/icons/<name>.svg` through react-inlinesvg;
// in jsdom there is no server, so render an empty svg tagged with the icon name.
export default function InlineSVG({ src }: { src: string }) {
  const name = src.replace(/^.*\/(.+)\.svg$/, '$1');
  return <svg xmlns="http://www.w3.org/2000/svg" data-testid={name} viewBox="0 0 24 24" />;
}
