// The `x11` package ships no type declarations. Its surface is large and dynamic (requests are
// generated from tables), so it is typed loosely here and wrapped by typed helpers at each use.
declare module 'x11' {
  const x11: any;
  export default x11;
}
declare module 'des.js' {
  const des: any;
  export default des;
}
